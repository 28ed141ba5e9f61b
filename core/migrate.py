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
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            _ensure_history_table(conn)
            done = {
                row["version"]: row["checksum"]
                for row in conn.execute("SELECT version, checksum FROM schema_migrations")
            }
            for migration in available_migrations():
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version:04d}_{migration.name} was changed "
                            "after it was applied; add a new migration instead"
                        )
                    continue
                _apply(conn, migration)
                applied_now.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now


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
