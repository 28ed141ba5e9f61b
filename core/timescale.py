"""``smokewatch timescale convert``: turn a plain-PostgreSQL database into TimescaleDB's layout.

The SQL is migration 0044's: a shadow hypertable per table, fed by a mirror trigger while the
history is copied in committed time-range batches, then one short swap. This module creates
the extension when the server preloads it, picks batch ranges, prints progress with the
throughput (seconds per million rows) and the time left, and resumes where an interrupted run
stopped. Ingest and the API keep working throughout; plain retention keeps running until the
swap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from core.db import connect, translated_errors
from core.errors import SmokewatchError
from core.migrate import StorageMode, storage_mode

log = logging.getLogger(__name__)

# Events first: they are small, and their swap makes alarms' history compressed sooner.
TABLES = ("events", "readings")
# Rows per committed batch, aimed at; the range width follows the table's density.
TARGET_BATCH_ROWS = 200_000
_MIN_STEP = timedelta(hours=1)
_MAX_STEP = timedelta(days=90)


class ConversionError(SmokewatchError):
    """The database cannot be converted to TimescaleDB (extension missing or not preloaded)."""


@dataclass(frozen=True, slots=True)
class Progress:
    """One committed batch of one table."""

    table: str
    until: datetime
    rows_copied: int
    rows_estimated: int
    rows_this_run: int
    seconds: float

    @property
    def seconds_per_million(self) -> float:
        return self.seconds / self.rows_this_run * 1e6 if self.rows_this_run else 0.0

    @property
    def seconds_left(self) -> float:
        left = max(0, self.rows_estimated - self.rows_copied)
        return left * self.seconds_per_million / 1e6

    def line(self) -> str:
        share = 100 * self.rows_copied / self.rows_estimated if self.rows_estimated else 100.0
        return (
            f"{self.table}: copied up to {self.until:%Y-%m-%d %H:%M}, {self.rows_copied:,} rows "
            f"(~{min(share, 100.0):.0f} %), {self.seconds_per_million:.1f} s per million rows, "
            f"about {self.seconds_left:.0f} s left"
        )


def ensure_extension(conn: psycopg.Connection[Any]) -> StorageMode:
    """Create the extension when the server has it preloaded; refuse clearly otherwise."""
    mode = storage_mode(conn)
    row = conn.execute(
        "SELECT (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS installed,"
        " (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available,"
        " current_setting('shared_preload_libraries') AS preload"
    ).fetchone()
    assert row is not None
    if row["installed"]:
        return mode
    if not row["available"]:
        raise ConversionError("timescaledb is not installed on this PostgreSQL server")
    if "timescaledb" not in row["preload"]:
        # CREATE EXTENSION would raise FATAL and close the connection: say what to do instead.
        raise ConversionError(
            "timescaledb is installed but not preloaded: add it to shared_preload_libraries "
            f"(now {row['preload']!r}), restart PostgreSQL, and run this again"
        )
    conn.execute("CREATE EXTENSION timescaledb")
    log.info("created the timescaledb extension")
    return storage_mode(conn)


def convert(
    database_url: str,
    *,
    batch_rows: int = TARGET_BATCH_ROWS,
    report: Callable[[str], None] = print,
) -> list[Progress]:
    """Convert readings and events to hypertables; safe to interrupt and run again."""
    done: list[Progress] = []
    with translated_errors(), connect(database_url, autocommit=True) as conn:
        ensure_extension(conn)
        for table in TABLES:
            if _is_hypertable(conn, table):
                report(f"{table}: already a hypertable")
                continue
            conn.execute("SELECT sw_convert_prepare(%s)", (table,))
            last = _copy(conn, table, batch_rows, report)
            if last is not None:
                done.append(last)
            started = time.monotonic()
            with conn.transaction():
                conn.execute("SELECT sw_convert_swap(%s)", (table,))
            report(f"{table}: swapped in {time.monotonic() - started:.1f} s; now a hypertable")
        mode = storage_mode(conn)
    report(f"storage mode: {mode.name} ({mode.reason})")
    return done


def _is_hypertable(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("SELECT sw_is_hypertable(%s) AS yes", (table,)).fetchone()
    return bool(row and row["yes"])


def _copy(
    conn: psycopg.Connection[Any], table: str, batch_rows: int, report: Callable[[str], None]
) -> Progress | None:
    """Copy the history in time ranges from where the last run stopped."""
    state = conn.execute(
        "SELECT copied_until, rows_copied FROM timescale_conversion WHERE table_name = %s",
        (table,),
    ).fetchone()
    assert state is not None  # sw_convert_prepare wrote it
    bounds = conn.execute(
        sql.SQL("SELECT min(ts) AS first, max(ts) AS last FROM {}").format(sql.Identifier(table))
    ).fetchone()
    estimate = conn.execute(
        "SELECT greatest(reltuples, 0)::bigint AS n FROM pg_class WHERE oid = %s::regclass",
        (table,),
    ).fetchone()
    if bounds is None or bounds["first"] is None:
        report(f"{table}: empty")
        return None
    start = state["copied_until"] or bounds["first"]
    end = bounds["last"] + timedelta(microseconds=1)
    rows_estimated = max(int(estimate["n"]) if estimate else 0, 1)
    span = max(end - bounds["first"], _MIN_STEP)
    step = min(max(span * (batch_rows / rows_estimated), _MIN_STEP), _MAX_STEP)
    copied = int(state["rows_copied"])
    if state["copied_until"] is not None:
        report(f"{table}: resuming at {start:%Y-%m-%d %H:%M} ({copied:,} rows already copied)")
    elapsed = 0.0
    this_run = 0
    progress: Progress | None = None
    while start < end:
        until = min(start + step, end)
        began = time.monotonic()
        with conn.transaction():
            row = conn.execute(
                "SELECT sw_convert_copy(%s, %s, %s) AS n", (table, start, until)
            ).fetchone()
        elapsed += time.monotonic() - began
        new = int(row["n"]) if row else 0
        copied += new
        this_run += new
        progress = Progress(table, until, copied, max(rows_estimated, copied), this_run, elapsed)
        report(progress.line())
        start = until
    return progress


__all__ = ["ConversionError", "Progress", "convert", "ensure_extension"]
