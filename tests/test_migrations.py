"""Migrations build the reference schema, exactly once, and refuse history that was rewritten."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from psycopg.rows import DictRow

import core.migrate
from core.db import is_timescale
from core.errors import MigrationError
from core.migrate import Migration, available_migrations, migrate
from tests.reference_schema import REFERENCES, describe_url, diff


def applied_versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]


def test_migrate_applies_every_migration_on_an_empty_database(empty_database_url: str) -> None:
    applied = migrate(empty_database_url)

    expected = [m.version for m in available_migrations()]
    assert [m.version for m in applied] == expected
    assert applied_versions(empty_database_url) == expected


def test_migrate_twice_changes_nothing(empty_database_url: str) -> None:
    migrate(empty_database_url)
    before = describe_url(empty_database_url)

    assert migrate(empty_database_url) == []
    assert describe_url(empty_database_url) == before


def test_migrations_build_the_reference_schema(empty_database_url: str, storage_mode: str) -> None:
    migrate(empty_database_url)

    reference = REFERENCES[storage_mode]
    difference = diff(
        reference.read_text(encoding="utf-8"), describe_url(empty_database_url), reference=reference
    )
    assert not difference, (
        f"the migrated schema differs from {reference}; if the change is intended, "
        "run `make reference-schema` (both modes) and commit the files with the "
        f"migration:\n{difference}"
    )


def test_migrate_refuses_a_migration_changed_after_it_was_applied(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")

    with pytest.raises(MigrationError, match="was changed after it was applied"):
        migrate(database_url)


def test_migrate_rolls_back_a_failing_migration(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = Migration(9999, "broken", "CREATE TABLE sw_probe (id int);\nSELECT 1 / 0;\n")
    shipped = available_migrations()
    monkeypatch.setattr(core.migrate, "available_migrations", lambda: [*shipped, broken])

    with pytest.raises(MigrationError, match="9999_broken failed"):
        migrate(database_url)

    assert 9999 not in applied_versions(database_url)
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT to_regclass('sw_probe')").fetchone()
    assert row == (None,)


def test_migrate_concurrently_applies_each_migration_once(empty_database_url: str) -> None:
    results: list[list[Migration]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate(empty_database_url))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(m.version for result in results for m in result) == [
        m.version for m in available_migrations()
    ]
    assert applied_versions(empty_database_url) == [m.version for m in available_migrations()]


def test_storage_layout_follows_the_server(
    db: psycopg.Connection[DictRow], storage_mode: str
) -> None:
    # The session's server preloads TimescaleDB when its binaries have it (tests/conftest.py).
    timescale = storage_mode == "timescaledb"
    assert is_timescale(db) is timescale
    kinds = db.execute(
        "SELECT relname, relkind FROM pg_class WHERE relname IN ('readings', 'readings_hourly')"
    ).fetchall()
    assert {row["relname"]: row["relkind"] for row in kinds} == {
        "readings": "r",
        "readings_hourly": "v",  # the plain view, or the continuous aggregate's user view
    }
    layout = db.execute("SELECT sw_timescale_layout() AS hypertables").fetchone()
    assert layout == {"hypertables": timescale}


# (table, age of the old row, age of the kept row) per storage mode, for the default promises
# (readings 400 days, events 1100, dead letters 90). TimescaleDB drops whole chunks (readings
# 30 days, events 90), so there a row goes within one chunk interval after its promise.
RETENTION_CASES = {
    "plain": [
        ("readings", timedelta(days=401), timedelta(days=399)),
        ("events", timedelta(days=1101), timedelta(days=1099)),
        ("dead_letters", timedelta(days=91), timedelta(days=89)),
    ],
    "timescaledb": [
        ("readings", timedelta(days=400 + 61), timedelta(days=399)),
        ("events", timedelta(days=1100 + 181), timedelta(days=1099)),
        ("dead_letters", timedelta(days=91), timedelta(days=89)),
    ],
}

INSERT = {
    "readings": "INSERT INTO readings (device_id, ts, received_at, msg_key) "
    "VALUES ('NZ-R1', now() - %(age)s, now(), %(key)s)",
    "events": "INSERT INTO events (device_id, ts, received_at, msg_key, type, priority) "
    "VALUES ('NZ-R1', now() - %(age)s, now(), %(key)s, 'test', 3)",
    "dead_letters": "INSERT INTO dead_letters (received_at, source, reason_code, reason, payload,"
    " payload_size) VALUES (now() - %(age)s, 'test', 'bad', 'bad', '\\x00', %(key)s)",
}
AGE = {"readings": "ts", "events": "ts", "dead_letters": "received_at"}


@pytest.mark.parametrize("case", range(3))
def test_retention_deletes_old_rows_and_keeps_recent_ones(
    db: psycopg.Connection[DictRow], storage_mode: str, case: int
) -> None:
    table, old, recent = RETENTION_CASES[storage_mode][case]
    db.execute(INSERT[table], {"age": old, "key": 1})
    db.execute(INSERT[table], {"age": recent, "key": 2})

    deleted = db.execute("SELECT sw_apply_retention() AS n").fetchone()
    if storage_mode == "timescaledb" and table != "dead_letters":
        # A hypertable is left to its retention policy: run it as the scheduler would.
        assert deleted == {"n": 0}
        job = db.execute(
            "SELECT job_id FROM timescaledb_information.jobs "
            "WHERE proc_name = 'policy_retention' AND hypertable_name = %s",
            (table,),
        ).fetchone()
        assert job is not None
        db.execute("CALL run_job(%s)", (job["job_id"],))
    else:
        assert deleted == {"n": 1}

    left = db.execute(f"SELECT now() - {AGE[table]} AS age FROM {table}").fetchall()
    assert len(left) == 1
    assert left[0]["age"] < recent + timedelta(minutes=1)


def test_apply_retention_deletes_in_bounded_batches(
    db: psycopg.Connection[DictRow], storage_mode: str
) -> None:
    # Plain tables are deleted from in batches; on TimescaleDB dead letters still are.
    table = "readings" if storage_mode == "plain" else "dead_letters"
    for key in range(5):
        db.execute(INSERT[table], {"age": timedelta(days=500), "key": key})

    rounds = [db.execute("SELECT sw_apply_retention(batch => 2) AS n").fetchone() for _ in range(4)]

    assert rounds == [{"n": 2}, {"n": 2}, {"n": 1}, {"n": 0}]
    assert db.execute(f"SELECT count(*) AS n FROM {table}").fetchone() == {"n": 0}
