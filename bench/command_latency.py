"""Command latency: a command requested -> the simulated detector's acknowledgement recorded.

Runs for real on loopback: private PostgreSQL and Mosquitto, the ingest service (its command
dispatcher wakes on NOTIFY), and simulated native detectors (device_sim/commands.py) that obey
``<prefix>/<id>/downlink`` and answer on ``<prefix>/<id>/ack``. One self-test at a time, each to
another detector; the figure is ``acknowledged_at - requested_at`` of the stored command, both
stamped on this machine's clock (the request's transaction, ingest's answer transaction).
Bounded: --commands commands, 15 s each at most.

    python -m bench.command_latency --commands 50
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench.servers import private_servers
from core.commands import Kind, Requester, read_command, request_command
from core.config import parse_mqtt_url
from core.migrate import migrate
from device_sim.commands import NativeResponder
from device_sim.detector import Detector
from tests.support import ingest_settings, register_devices, running_ingest, unique_prefix

RESULTS = Path(__file__).parent / "results"


def measure(commands: int) -> dict[str, Any]:
    prefix = unique_prefix()
    ids = [f"BENCH-{n:04d}" for n in range(commands)]
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sw-cmd-")))
        database_url, mqtt_url = stack.enter_context(private_servers(workdir, durable=False))
        migrate(database_url)
        register_devices(database_url, ids)
        detectors = [Detector(device_id, prefix) for device_id in ids]
        stack.enter_context(NativeResponder(parse_mqtt_url(mqtt_url), prefix, detectors))
        stack.enter_context(running_ingest(ingest_settings(database_url, mqtt_url, prefix)))
        latencies: list[float] = []
        with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as db:
            for device_id in ids:
                with db.transaction():
                    row, _ = request_command(
                        db, device_id=device_id, kind=Kind.SELF_TEST,
                        requester=Requester(role="installer"), requested_by="bench",
                    )  # fmt: skip
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    done = read_command(db, row["id"])
                    if done["state"] == "acknowledged":
                        delta = done["acknowledged_at"] - done["requested_at"]
                        latencies.append(delta.total_seconds() * 1000)
                        break
                    time.sleep(0.002)
    latencies.sort()
    return {
        "commands": commands,
        "acknowledged": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 1),
        "max_ms": round(latencies[-1], 1),
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=50)
    args = parser.parse_args()
    result = measure(args.commands)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "command_latency.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
