"""``python -m bench.reliability --long``: every fault under load, then the 10-minute soak.

Runs on private PostgreSQL and Mosquitto in a temporary folder (as the tests do) and writes
the figures to ``bench/results/reliability.json``. ``--scenario NAME`` runs one fault,
``--soak-only`` only the soak, ``--soak-minutes`` shortens it for a trial. ``--delivery`` runs
the delivery scenarios (``bench/reliability/delivery.py``: ``slow_provider``,
``kill_mid_retry_500``, ``kill_mid_retry_hang``; also by name with ``--scenario``), each
``--repeat`` times.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.reliability import delivery
from bench.reliability.harness import Servers
from bench.reliability.scenarios import Rig, faults, run
from bench.reliability.soak import soak
from core.migrate import migrate
from devtools.localservers import LocalMosquitto, LocalPostgres

RESULTS = Path(__file__).resolve().parents[1] / "results" / "reliability.json"
LONG_HOLD = {"provider_slow": 120.0}  # "slow for minutes"
DELIVERY = {
    "slow_provider": delivery.slow_provider,
    "kill_mid_retry_500": lambda url, folder: delivery.kill_mid_retry(url, folder, fault="500"),
    "kill_mid_retry_hang": lambda url, folder: delivery.kill_mid_retry(url, folder, fault="hang"),
}


def fresh_database(pg: LocalPostgres) -> str:
    name = f"swrel_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg.url_for(name)
    migrate(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability")
    parser.add_argument("--long", action="store_true", help="every fault, then the soak")
    parser.add_argument("--scenario", action="append", default=[], help="run only these faults")
    parser.add_argument("--soak-only", action="store_true")
    parser.add_argument("--no-soak", action="store_true")
    parser.add_argument("--short", action="store_true", help="the test suite's small load")
    parser.add_argument("--soak-minutes", type=int, default=10)
    parser.add_argument("--soak-rate", type=float, default=10_000.0, help="msg/s (half of max)")
    parser.add_argument("--delivery", action="store_true", help="the delivery scenarios")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each delivery scenario")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="smokewatch-reliability-"))
    report: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        with (
            LocalPostgres(workdir / "pg", fsync=True) as pg,
            LocalMosquitto(workdir / "mqtt") as broker,
        ):
            names = args.scenario or ([] if args.soak_only or args.delivery else list(faults()))
            if args.delivery and not args.scenario:  # --scenario picks delivery ones too
                names = [*names, *DELIVERY]
            report["scenarios"] = []
            for name in names:
                if name in DELIVERY:
                    for run_no in range(args.repeat):
                        folder = workdir / f"{name}-{run_no}"
                        folder.mkdir()
                        row = DELIVERY[name](fresh_database(pg), folder)
                        print(json.dumps(row, ensure_ascii=False), flush=True)
                        report["scenarios"].append(row)
                    continue
                fault = faults()[name]
                folder = workdir / name
                folder.mkdir()
                size = (
                    {"devices": 40, "rate": 400} if args.short else {"devices": 500, "rate": 2000}
                )
                rig = Rig(Servers(pg, broker, fresh_database(pg), folder), **size)  # type: ignore[arg-type]
                if name == "provider_slow":
                    rig.receiver.slow_s = 3.0
                load_s, hold_s = (4.0, 2.0) if args.short else (20.0, LONG_HOLD.get(name, 8.0))
                try:
                    result = run(rig, fault, load_s=load_s, hold_s=hold_s)
                finally:
                    rig.close()
                row = result.row() | {"expected": fault.expected}
                print(json.dumps(row, ensure_ascii=False), flush=True)
                report["scenarios"].append(row)
            if (args.long or args.soak_only) and not args.no_soak:
                folder = workdir / "soak"
                folder.mkdir()
                servers = Servers(pg, broker, fresh_database(pg), folder)
                report["soak"] = soak(servers, minutes=args.soak_minutes, rate=args.soak_rate)
                print(json.dumps(report["soak"], ensure_ascii=False), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
