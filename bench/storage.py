"""Storage per detector: readings and events on plain PostgreSQL and on TimescaleDB.

    python -m bench.storage --devices 500 --days 60                  # both modes when possible
    SMOKEWATCH_PG_BINDIR=<timescaledb tree>/bin python -m bench.storage --mode timescaledb

The data is the simulator's: every device is a ``device_sim`` detector (its battery drains, its
signal and temperature wander, smoke settles) reporting once an hour, and its messages go
through the native codec exactly as ingest decodes them. Events follow a field mix per
device and day (connection flaps, weak signal, monthly test, rare false alarms). Rows are
loaded with COPY into a migrated database on a private server, then measured: the tables'
heap, indexes and TOAST; on TimescaleDB the same before and after compressing every chunk
(``compress_chunk``, what the policy does to chunks past ``compress_after``).
Results: a Markdown table on stdout and bench/results/storage.json.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from core.codecs import native
from core.migrate import migrate
from core.records import Event, Reading
from device_sim.detector import build_fleet, numbered_ids
from devtools.localservers import LocalPostgres, postgres_bindir
from devtools.localservers.binaries import has_timescaledb

PREFIX = "smokewatch/v1"
DAY = timedelta(days=1)
# Events per device and day, by type: what a rural NB-IoT and Wi-Fi fleet sends besides its
# hourly telemetry (reconnects, weak signal, the monthly test, a false alarm now and then).
EVENT_MIX = {
    "offline": 0.3,
    "online": 0.3,
    "weak_signal": 0.2,
    "test": 1 / 30,
    "alarm": 1 / 60,
    "alarm_cleared": 1 / 60,
    "tamper": 1 / 200,
}
READING_COLUMNS = (
    "device_id, ts, received_at, msg_key, smoke_obscuration, temperature_c, battery_pct,"
    " battery_mv, signal_dbm, firmware, extra"
)
EVENT_COLUMNS = "device_id, ts, received_at, msg_key, type, priority, source, data, raw"


def simulate(devices: int, days: int, seed: int) -> Iterator[Reading | Event]:
    """Decoded records of ``devices`` simulated detectors over the last ``days`` days."""
    rng = random.Random(seed)
    fleet = build_fleet(numbered_ids("BENCH", devices), topic_prefix=PREFIX, seed=seed)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - days * DAY
    for det in fleet:
        phase = timedelta(seconds=rng.uniform(0, 3600))
        now = start + phase
        while now < end:
            det.tick(now)
            yield _decode(det.telemetry(now), now, rng)
            for event_type, per_day in EVENT_MIX.items():
                if rng.random() < per_day / 24:
                    at = now + timedelta(seconds=rng.uniform(0, 3600))
                    if event_type in ("online", "offline"):  # the status topic, plain text
                        message = det.status(event_type, retain=False)  # type: ignore[arg-type]
                    else:
                        message = det.event(event_type, at)
                    yield _decode(message, at, rng)
            now += timedelta(hours=1)


def _decode(message: Any, sent: datetime, rng: random.Random) -> Reading | Event:
    received = sent + timedelta(milliseconds=rng.uniform(80, 2500))
    parsed = native.parse_topic(message.topic, PREFIX)
    return native.decode(parsed, message.payload, received, max_bytes=16384)


def load(url: str, devices: int, days: int, seed: int) -> tuple[int, int]:
    """Write the simulated records; return (readings, events)."""
    counts = [0, 0]
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY readings ({READING_COLUMNS}) FROM STDIN") as readings,
    ):
        events: list[Event] = []
        for record in simulate(devices, days, seed):
            if isinstance(record, Reading):
                readings.write_row(
                    (record.device_id, record.ts, record.received_at, record.msg_key,
                     record.smoke_obscuration, record.temperature_c, record.battery_pct,
                     record.battery_mv, record.signal_dbm, record.firmware,
                     Jsonb(record.extra) if record.extra is not None else None)
                )  # fmt: skip
                counts[0] += 1
            else:
                events.append(record)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY events ({EVENT_COLUMNS}) FROM STDIN") as copy:
            for e in events:
                copy.write_row(
                    (e.device_id, e.ts, e.received_at, e.msg_key, e.type.value, int(e.priority),
                     e.source, Jsonb(e.data) if e.data is not None else None,
                     Jsonb(e.raw) if e.raw is not None else None)
                )  # fmt: skip
        counts[1] = len(events)
    return counts[0], counts[1]


SIZES_PLAIN = """
SELECT pg_relation_size(%(t)s::regclass) + coalesce(pg_total_relation_size(
           (SELECT reltoastrelid FROM pg_class
            WHERE oid = %(t)s::regclass AND reltoastrelid <> 0)), 0) AS table_bytes,
       pg_indexes_size(%(t)s::regclass) AS index_bytes,
       pg_total_relation_size(%(t)s::regclass) AS total_bytes
"""
SIZES_TIMESCALE = """
SELECT table_bytes + toast_bytes AS table_bytes, index_bytes, total_bytes
FROM hypertable_detailed_size(%(t)s::regclass)
"""


def measure(url: str, timescale: bool, tables: dict[str, int]) -> dict[str, Any]:
    """Sizes per table, and on TimescaleDB after compressing every chunk."""
    out: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE readings, events")
        for table, rows in tables.items():
            size = conn.execute(SIZES_TIMESCALE if timescale else SIZES_PLAIN, {"t": table})
            before = dict(zip(("table", "index", "total"), size.fetchone() or (), strict=True))
            entry: dict[str, Any] = {"rows": rows, "before": before}
            if timescale:
                started = time.monotonic()
                conn.execute(f"SELECT count(compress_chunk(c)) FROM show_chunks('{table}') c")
                entry["compress_s"] = round(time.monotonic() - started, 1)
                conn.execute(f"VACUUM ANALYZE {table}")
                size = conn.execute(SIZES_TIMESCALE, {"t": table}).fetchone() or ()
                entry["after"] = dict(zip(("table", "index", "total"), size, strict=True))
                entry["chunks"] = conn.execute(
                    f"SELECT count(*) FROM show_chunks('{table}')"
                ).fetchone()[0]  # type: ignore[index]
            out[table] = entry
    return out


def run_mode(
    mode: str, workdir: Path, *, devices: int, days: int, seed: int, setup_sql: str = ""
) -> dict[str, Any]:
    timescale = mode == "timescaledb"
    with LocalPostgres(workdir / mode, fsync=False, timescaledb=timescale) as pg:
        with psycopg.connect(pg.admin_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE smokewatch_storage")
        url = pg.url_for("smokewatch_storage")
        migrate(url)
        if setup_sql:  # another layout to compare with the migrations' one
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(setup_sql.encode())
        started = time.monotonic()
        readings, events = load(url, devices, days, seed)
        loaded_s = time.monotonic() - started
        sizes = measure(url, timescale, {"readings": readings, "events": events})
    detector_years = devices * days / 365.25
    for entry in sizes.values():
        final = entry.get("after", entry["before"])
        entry["bytes_per_detector_year"] = round(final["total"] / detector_years)
        if "after" in entry:
            entry["ratio_total"] = round(entry["before"]["total"] / entry["after"]["total"], 1)
            entry["ratio_table"] = round(entry["before"]["table"] / entry["after"]["table"], 1)
    return {"mode": mode, "devices": devices, "days": days, "load_s": round(loaded_s, 1)} | sizes


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        "| mode | table | rows | before: heap+toast / indexes / total | after compression "
        "| ratio (total) | bytes per detector-year |",
        "|---|---|---|---|---|---|---|",
    ]
    mb = 1024 * 1024
    for r in results:
        for table in ("readings", "events"):
            e = r[table]
            b = e["before"]
            after = e.get("after")
            lines.append(
                f"| {r['mode']} | {table} | {e['rows']:,} | {b['table'] / mb:.1f} / "
                f"{b['index'] / mb:.1f} / {b['total'] / mb:.1f} MB | "
                + (
                    f"{after['table'] / mb:.1f} / {after['index'] / mb:.1f} / "
                    f"{after['total'] / mb:.1f} MB | {e['ratio_total']}x"
                    if after
                    else "— | —"
                )
                + f" | {e['bytes_per_detector_year']:,} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mode", choices=["plain", "timescaledb", "both"], default="both")
    parser.add_argument(
        "--setup-sql", default="", help="SQL run after migrating, to try another layout"
    )
    args = parser.parse_args()
    modes = ["plain", "timescaledb"] if args.mode == "both" else [args.mode]
    if "timescaledb" in modes and not has_timescaledb(postgres_bindir()):
        if args.mode == "timescaledb":
            raise SystemExit("no TimescaleDB in the PostgreSQL binaries; set SMOKEWATCH_PG_BINDIR")
        print("TimescaleDB not found in the PostgreSQL binaries: measuring plain PostgreSQL only")
        modes = ["plain"]
    results = []
    with tempfile.TemporaryDirectory(prefix="smokewatch-storage-") as folder:
        for mode in modes:
            results.append(
                run_mode(
                    mode,
                    Path(folder),
                    devices=args.devices,
                    days=args.days,
                    seed=args.seed,
                    setup_sql=args.setup_sql,
                )
            )
    print(report(results))
    out = Path("bench/results/storage.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
