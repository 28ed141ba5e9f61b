"""How long `smokewatch timescale convert` takes per million rows.

    SMOKEWATCH_PG_BINDIR=<timescaledb tree>/bin python -m bench.convert --readings 2000000

A private PostgreSQL (fsync on) starts without TimescaleDB preloaded, the migrations build the
plain layout, and ``--readings`` hourly readings (over ``--devices`` devices, the newest 400
days) and one event per device and day are generated with ``generate_series``. The server is
restarted with the preload, as an operator would, and the conversion runs with its own
progress output; the seconds per million rows it prints are the figure.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import psycopg

from core.migrate import migrate
from core.timescale import convert
from devtools.localservers import LocalPostgres, postgres_bindir
from devtools.localservers.binaries import has_timescaledb

READINGS = """
INSERT INTO readings (device_id, ts, received_at, msg_key, smoke_obscuration, temperature_c,
                      battery_pct, battery_mv, signal_dbm, firmware)
SELECT 'BENCH-' || lpad((n %% %(devices)s)::text, 6, '0'),
       now() - make_interval(hours => n / %(devices)s), now(), n / %(devices)s,
       random() * 0.08, 15 + random() * 10, 90 - n / %(devices)s / 1000.0, 2960,
       -70 - (n %% 30), '1.4.2'
FROM generate_series(1, %(rows)s) n
"""
EVENTS = """
INSERT INTO events (device_id, ts, received_at, msg_key, type, priority, data)
SELECT 'BENCH-' || lpad((n %% %(devices)s)::text, 6, '0'),
       now() - make_interval(days => n / %(devices)s), now(), n, 'weak_signal', 3,
       '{"signal": -101}'::jsonb
FROM generate_series(1, %(rows)s) n
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=2_000_000)
    parser.add_argument("--devices", type=int, default=500)
    args = parser.parse_args()
    if not has_timescaledb(postgres_bindir()):
        raise SystemExit("no TimescaleDB in the PostgreSQL binaries; set SMOKEWATCH_PG_BINDIR")
    days = args.readings // args.devices // 24
    with (
        tempfile.TemporaryDirectory(prefix="smokewatch-convert-") as folder,
        LocalPostgres(Path(folder) / "pg", timescaledb=False) as pg,
    ):
        with psycopg.connect(pg.admin_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE smokewatch_convert")
        url = pg.url_for("smokewatch_convert")
        migrate(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(READINGS, {"devices": args.devices, "rows": args.readings})
            conn.execute(EVENTS, {"devices": args.devices, "rows": args.devices * days})
            conn.execute("VACUUM ANALYZE readings, events")
        print(f"{args.readings:,} readings, {args.devices * days:,} events, plain layout")
        pg.timescaledb = True  # the operator adds the preload and restarts
        pg.restart()
        started = time.monotonic()
        convert(url)
        total = time.monotonic() - started
        rows = args.readings + args.devices * days
        print(f"converted {rows:,} rows in {total:.1f} s: {total / rows * 1e6:.1f} s per million")


if __name__ == "__main__":
    main()
