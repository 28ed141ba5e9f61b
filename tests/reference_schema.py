"""The schema the migrations must build, as text, and the command that regenerates it.

``describe`` lists every extension, table, view, column (type, nullability, default), constraint,
index, trigger, sequence and function of the application's schemas, one per line and sorted, so
a diff shows exactly what a migration changed. ``tests/test_migrations.py`` compares a freshly
migrated database with ``tests/reference_schema.txt`` (plain PostgreSQL) or
``tests/reference_schema_timescaledb.txt`` (TimescaleDB), whichever the session runs on.

After adding a migration, regenerate the files and review the diff with the migration:

    .venv/bin/python -m tests.reference_schema --write     (or: make reference-schema)

It starts a private PostgreSQL in a temporary folder, migrates an empty database and writes
the description, once without TimescaleDB and once with it when the PostgreSQL binaries have
it (``SMOKEWATCH_PG_BINDIR``; without them the TimescaleDB file is left as it is, and says
so); ``--check`` only compares and prints the difference.
"""

from __future__ import annotations

import difflib
import sys
import tempfile
from pathlib import Path
from typing import Any

import psycopg

REFERENCE = Path(__file__).with_name("reference_schema.txt")
REFERENCES = {
    "plain": REFERENCE,
    "timescaledb": Path(__file__).with_name("reference_schema_timescaledb.txt"),
}
# Only what migrations create; TimescaleDB's own schemas are not ours to describe.
_OURS = """
    n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_%'
    AND n.nspname NOT LIKE '\\_timescaledb%'
    AND n.nspname NOT LIKE 'timescaledb\\_%'
"""
# Objects that belong to an extension are described by the extension's line alone.
_NOT_EXTENSION = """
    NOT EXISTS (SELECT 1 FROM pg_depend d
                WHERE d.objid = {oid} AND d.deptype = 'e')
"""

_QUERIES = {
    "extension": "SELECT 'extension ' || extname AS line FROM pg_extension ORDER BY 1",
    "relation": f"""
        SELECT format('%s %s.%s', CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table'
                      WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                      WHEN 'S' THEN 'sequence' END, n.nspname, c.relname) AS line
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND {_OURS}
          AND {_NOT_EXTENSION.format(oid="c.oid")}
        ORDER BY 1""",
    "column": f"""
        SELECT format('column %s.%s %s %s %s%s%s', n.nspname, c.relname,
                      lpad(a.attnum::text, 3, '0') || ' ' || a.attname,
                      format_type(a.atttypid, a.atttypmod),
                      CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END,
                      CASE a.attidentity WHEN 'a' THEN ' identity always'
                           WHEN 'd' THEN ' identity by default' ELSE '' END,
                      coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')) AS line
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')
          AND {_OURS} AND {_NOT_EXTENSION.format(oid="c.oid")}
        ORDER BY 1""",
    "constraint": f"""
        SELECT format('constraint %s.%s %s %s', n.nspname, c.relname, k.conname,
                      pg_get_constraintdef(k.oid)) AS line
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_OURS}
        ORDER BY 1""",
    "index": f"""
        SELECT format('index %s.%s %s', n.nspname, i.relname, pg_get_indexdef(i.oid)) AS line
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_namespace n ON n.oid = i.relnamespace
        WHERE {_OURS} AND {_NOT_EXTENSION.format(oid="x.indrelid")}
        ORDER BY 1""",
    "trigger": f"""
        SELECT format('trigger %s.%s %s', n.nspname, c.relname,
                      pg_get_triggerdef(t.oid)) AS line
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal AND {_OURS}
        ORDER BY 1""",
    "function": f"""
        SELECT format('%s %s.%s(%s) %s', CASE p.prokind WHEN 'p' THEN 'procedure'
                      WHEN 'a' THEN 'aggregate' ELSE 'function' END, n.nspname, p.proname,
                      pg_get_function_identity_arguments(p.oid),
                      coalesce('returns ' || pg_get_function_result(p.oid), '')) AS line
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {_OURS} AND {_NOT_EXTENSION.format(oid="p.oid")}
        ORDER BY 1""",
}


def describe(conn: psycopg.Connection[Any]) -> str:
    """The schema of the connected database as sorted text lines, one object per line."""
    lines: list[str] = []
    for query in _QUERIES.values():
        lines.extend(row[0].rstrip() for row in conn.execute(query))
    return "\n".join(lines) + "\n"


def describe_url(url: str) -> str:
    """Like :func:`describe`, for a database URL."""
    with psycopg.connect(url) as conn:
        return describe(conn)


def diff(expected: str, actual: str, *, reference: Path = REFERENCE) -> str:
    """A unified diff of reference against actual, empty when equal."""
    return "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=str(reference),
            tofile="migrated database",
        )
    )


def _migrated_description(mode: str) -> str:
    from core.migrate import migrate
    from devtools.localservers import LocalPostgres

    with (
        tempfile.TemporaryDirectory(prefix="smokewatch-schema-") as folder,
        LocalPostgres(
            Path(folder) / "postgres", fsync=False, timescaledb=mode == "timescaledb"
        ) as server,
    ):
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE schema_reference")
        migrate(server.url_for("schema_reference"))
        return describe_url(server.url_for("schema_reference"))


def main(argv: list[str]) -> int:
    from devtools.localservers import has_timescaledb, postgres_bindir

    if argv not in (["--write"], ["--check"]):
        print("usage: python -m tests.reference_schema --write | --check", file=sys.stderr)
        return 2
    modes = ["plain"]
    if has_timescaledb(postgres_bindir()):
        modes.append("timescaledb")
    else:
        print(
            f"{postgres_bindir()} has no TimescaleDB: {REFERENCES['timescaledb'].name} not "
            "checked; set SMOKEWATCH_PG_BINDIR (../shared/timescaledb/install prints it)",
            file=sys.stderr,
        )
    status = 0
    for mode in modes:
        path = REFERENCES[mode]
        actual = _migrated_description(mode)
        if argv == ["--write"]:
            path.write_text(actual, encoding="utf-8")
            print(f"wrote {path} ({actual.count(chr(10))} lines)")
            continue
        expected = path.read_text(encoding="utf-8") if path.exists() else ""
        difference = diff(expected, actual, reference=path)
        print(difference or f"the migrations build {path.name}")
        status |= 1 if difference else 0
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
