"""Ingest throughput with 1, 2 and 3 workers on one MQTT 5 shared subscription.

    python -m bench.scale_out                        # private PostgreSQL + Mosquitto
    python -m bench.scale_out --messages 100000 --devices 10000 --workers 1 2 3

For each worker count: start the workers once so that their persistent sessions exist, stop
them, publish --messages telemetry messages (the broker queues each worker's share), start the
workers again and time from the first commit until every message is committed. Draining a backlog
keeps the simulator's CPU out of the measured window, which matters on a small machine.
Bounded by --messages; results printed and written to bench/results/scale_out.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg

from bench.ingest_throughput import RESULTS, _free_port, device_ids, load
from bench.servers import private_servers
from core.migrate import migrate


class Worker:
    """One ``smokewatch ingest`` process in the shared group, with its metrics port."""

    def __init__(self, database_url: str, mqtt_url: str, prefix: str, group: str, n: int):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}
        self.env |= {
            "SMOKEWATCH_DATABASE_URL": database_url,
            "SMOKEWATCH_MQTT_URL": mqtt_url,
            "SMOKEWATCH_TOPIC_PREFIX": prefix,
            "SMOKEWATCH_INGEST_CLIENT_ID": f"{group}-{n}",
            "SMOKEWATCH_INGEST_SHARED_GROUP": group,
            "SMOKEWATCH_LOG_LEVEL": "WARNING",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, log: Path) -> None:
        self.port = _free_port()
        self.env["SMOKEWATCH_INGEST_METRICS_PORT"] = str(self.port)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smokewatch", "ingest"],
            env=self.env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def metric(self, name: str) -> float:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return 0.0
        return sum(
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)
        )

    def stored(self) -> float:
        return self.metric('smokewatch_ingest_stored_total{kind="reading"}') + self.metric(
            "smokewatch_ingest_duplicates_total"
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=60)


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def run(
    database_url: str, mqtt_url: str, workdir: Path, count: int, args: argparse.Namespace
) -> dict[str, Any]:
    prefix = f"scale{uuid.uuid4().hex[:6]}/v1"
    group = f"bench{count}x{uuid.uuid4().hex[:4]}"
    workers = [Worker(database_url, mqtt_url, prefix, group, n) for n in range(count)]
    log = workdir / f"ingest-{count}.log"
    for worker in workers:  # create the sessions, then leave them queueing
        worker.start(log)
    wait_for(lambda: all(w.metric("smokewatch_ingest_mqtt_connected") >= 2 for w in workers),
             60, "workers to connect")  # fmt: skip
    for worker in workers:
        worker.stop()
    published = load(mqtt_url, prefix, args.devices, args.messages)
    began = time.monotonic()
    for worker in workers:
        worker.start(log)
    try:
        # Timed from the first commit: Python start-up is not ingest throughput.
        wait_for(lambda: sum(w.stored() for w in workers) > 0, 120, "the first commit")
        first = time.monotonic()
        wait_for(lambda: sum(w.stored() for w in workers) >= args.messages, 900, "the drain")
        seconds = time.monotonic() - first
        shares = [round(w.stored()) for w in workers]
    finally:
        for worker in workers:
            worker.stop()
    return {
        "workers": count, "seconds": seconds, "startup_s": first - began,
        "rate": args.messages / seconds, "per_worker": shares, "publish_rate": published["rate"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sw-scale-")))
        database_url, mqtt_url = stack.enter_context(private_servers(workdir, durable=True))
        migrate(database_url)
        with (
            psycopg.connect(database_url, autocommit=True) as conn,
            conn.cursor() as cur,
            cur.copy("COPY devices (id, model_code) FROM STDIN") as copy,
        ):
            for device in device_ids(args.devices):
                copy.write_row((device, "sw-native-1"))
        results = []
        for count in args.workers:
            result = run(database_url, mqtt_url, workdir, count, args)
            print(json.dumps(result), flush=True)
            results.append(result)
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT count(*) FROM readings").fetchone()
        summary = {"load_average": os.getloadavg(), "messages": args.messages,
                   "devices": args.devices, "cpus": os.cpu_count(),
                   "machine": platform.machine(), "runs": results,
                   "readings_stored": row[0] if row else None,
                   "readings_expected": args.messages * len(args.workers)}  # fmt: skip
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "scale_out.json").write_text(json.dumps(summary, indent=2))
        print("| workers | drain rate (msg/s) | seconds | per worker |")
        print("|---|---|---|---|")
        for r in results:
            print(f"| {r['workers']} | {r['rate']:,.0f} | {r['seconds']:.1f} | {r['per_worker']} |")


if __name__ == "__main__":
    main()
