"""Ordered SQL migrations, applied once each under an advisory lock.

Files in ``core/migrations`` are named ``NNNN_description.sql`` and applied in order, each in
its own transaction. A checksum guards against editing a file after it was applied. The
TimescaleDB and plain-PostgreSQL paths live in the same files, switched inside SQL on
``sw_timescale_enabled()``, so both deployments share one history.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from core.db import connect, translated_errors
from core.errors import MigrationError

log = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Files that were corrected after release, with the checksums they had before. A database that
# applied the earlier text is up to date: the correction only matters to databases that have not
# applied the file yet. 0001: CREATE EXTENSION timescaledb used to be attempted on a server that
# did not preload it, which kills the connection (issue 16).
_SUPERSEDED = {
    1: {"22a83b5d9ca401750246a011ccb65a66aa0b66ecbe0e6207d563ebde712c2916"},
}
# Any constant works; it only has to be the same for every smokewatch process.
_LOCK_KEY = 0x5_30CE_0A7C


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    """All migration files shipped with the package, in order."""
    found: list[Migration] = []
    for entry in resources.files("core.migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if not match:
            continue
        found.append(
            Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8"))
        )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version number")
    return found


def migrate(database_url: str) -> list[Migration]:
    """Apply every pending migration; return the ones applied (empty when up to date)."""
    applied_now: list[Migration] = []
    with translated_errors(), connect(database_url, autocommit=True) as conn:
        # The server's NOTICEs (the storage mode chosen by 0001, TimescaleDB's hints) go to the log.
        conn.add_notice_handler(_log_notice)
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            _ensure_history_table(conn)
            done = {
                row["version"]: row["checksum"]
                for row in conn.execute("SELECT version, checksum FROM schema_migrations")
            }
            for migration in available_migrations():
                if migration.version in done:
                    recorded = done[migration.version]
                    if recorded != migration.checksum and recorded not in _SUPERSEDED.get(
                        migration.version, ()
                    ):
                        raise MigrationError(
                            f"migration {migration.version:04d}_{migration.name} was changed "
                            "after it was applied; add a new migration instead"
                        )
                    continue
                _apply(conn, migration)
                applied_now.append(migration)
            mode = storage_mode(conn)
            log.info("storage mode: %s (%s)", mode.name, mode.reason)
        finally:
            _unlock(conn)
    return applied_now


def _unlock(conn: psycopg.Connection[Any]) -> None:
    """Release the migration lock; a dead connection released it already.

    Never let this hide the error that brought us here: after a FATAL the connection is closed,
    and "the connection is closed" would replace the migration's real error.
    """
    if conn.closed or conn.broken:
        return
    try:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    except psycopg.Error as exc:
        log.warning("could not release the migration lock (the session ends anyway): %s", exc)


def _log_notice(diagnostic: psycopg.errors.Diagnostic) -> None:
    log.info("database: %s", diagnostic.message_primary)


@dataclass(frozen=True, slots=True)
class StorageMode:
    """How readings and events are stored, and why."""

    name: str  # "timescaledb", "plain", or "plain, conversion pending"
    reason: str


def storage_mode(conn: psycopg.Connection[Any]) -> StorageMode:
    """Which layout this database has, and why (for the log and ``smokewatch timescale``)."""
    row = conn.execute(_STORAGE_MODE).fetchone()
    assert row is not None  # one row by construction
    preloaded = "timescaledb" in (row["preload"] or "")
    hypertable = bool(row["installed"]) and bool(
        conn.execute(_IS_HYPERTABLE, {"table": "readings"}).fetchone()
    )
    if hypertable:
        return StorageMode(
            "timescaledb", f"readings is a hypertable, TimescaleDB {row['installed']}"
        )
    if row["installed"]:
        return StorageMode(
            "plain, conversion pending",
            f"TimescaleDB {row['installed']} is installed but readings is a plain table; "
            "plain retention keeps running until `smokewatch timescale convert`",
        )
    if not row["available"]:
        return StorageMode("plain", "timescaledb is not installed on this server")
    if not preloaded:
        return StorageMode(
            "plain",
            f"timescaledb {row['available']} is installed but not in shared_preload_libraries "
            f"({row['preload'] or 'empty'})",
        )
    return StorageMode(
        "plain",
        f"timescaledb {row['available']} is preloaded but not created in this database; "
        "run `smokewatch timescale convert`",
    )


_STORAGE_MODE = """
SELECT (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS installed,
       (SELECT default_version FROM pg_available_extensions
        WHERE name = 'timescaledb') AS available,
       current_setting('shared_preload_libraries') AS preload
"""
_IS_HYPERTABLE = """
SELECT 1 FROM timescaledb_information.hypertables
WHERE hypertable_schema = current_schema() AND hypertable_name = %(table)s
"""


def _ensure_history_table(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            checksum   text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def _apply(conn: psycopg.Connection[Any], migration: Migration) -> None:
    log.info("applying migration %04d_%s", migration.version, migration.name)
    try:
        with conn.transaction():
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
    except psycopg.Error as exc:
        raise MigrationError(
            f"migration {migration.version:04d}_{migration.name} failed: {exc}"
        ) from exc
