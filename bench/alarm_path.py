"""The alarm path end to end: MQTT publish -> ingest -> alerting -> first page at a receiver.

    python -m bench.alarm_path                   # latency idle and loaded, storm of 1,000
    python -m bench.alarm_path --big-storm       # also the storm of 10,000 households
    python -m bench.alarm_path --only storm      # one part: latency, storm or big
    python -m bench.alarm_path --alerting 2      # two alerting processes share the work

Everything is private and bounded: PostgreSQL (fsync on) and Mosquitto in a temporary
folder (bench/servers.py), ``smokewatch ingest`` and ``smokewatch alerting`` as processes
with the shipped defaults (except: wave 2, wave 3 and repeats are pushed past the run so
that only wave 1 is sent, and the metrics ports are off), and the loopback HTTP receiver of
the reliability bench behind every contact's ``json://`` URL. Each household has one
detector and two wave-1 contacts (resident, family).

- latency: alarms one at a time (each waits for its first page), idle, then while
  telemetry is published at ``--load-rate`` msg/s (about half of the ingest's measured
  maximum, docs/benchmarks.md) by the simulator's load mode;
- storm: ``--storm`` alarms from as many households published evenly within ``--spread``
  seconds; every household's first page, duplicates (a contact paged twice) and misses, and
  event -> incident throughput from the database's own timestamps.

Prints a Markdown table and writes bench/results/alarm_path.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from bench.cpu import CpuMeter
from bench.ingest_throughput import RESULTS, LoadInBackground, device_ids
from bench.reliability.harness import Service, service_env
from bench.reliability.receiver import Receiver
from bench.servers import private_servers
from core.config import parse_mqtt_url
from core.factory import create_contacts, create_devices, create_organisation, create_sites
from core.migrate import migrate

ROLES = ("resident", "family")
# Tuning that the reliability harness sets for its fault runs; this bench wants the defaults.
NOT_DEFAULTS = (
    "SMOKEWATCH_ALERTING_REPEAT_LAST",
    "SMOKEWATCH_ALERTING_REQUEST_TIMEOUT_S",
    "SMOKEWATCH_ALERTING_ATTEMPTS_PER_CHANNEL",
    "SMOKEWATCH_ALERTING_BACKOFF_S",
    "SMOKEWATCH_ALERTING_LEASE_S",
    "SMOKEWATCH_ALERTING_POLL_INTERVAL_S",
)


def seed(conn: psycopg.Connection[Any], tag: str, count: int, port: int) -> list[str]:
    """``count`` households (site, detector, two wave-1 contacts) in one village."""
    org = create_organisation(conn, level="village", code=f"bench-{tag}", name=tag)
    names = [f"{tag}{n:05d}" for n in range(count)]
    sites = create_sites(
        conn,
        org_id=org,
        names=names,
        addresses=[f"南张村 {n} 号" for n in range(count)],
        resident_names=["王秀英"] * count,
    )
    create_devices(
        conn, device_ids=names, site_ids=[sites[n] for n in names], rooms=["厨房"] * count
    )
    create_contacts(
        conn,
        contacts=[
            {
                "site_id": sites[n],
                "name": role,
                "role": role,
                "channels": [f"json://127.0.0.1:{port}/{n}/{role}"],
            }
            for n in names
            for role in ROLES
        ],
    )
    return names


class Publisher:
    """A paho client publishing native alarms at QoS 1 and noting when (monotonic)."""

    def __init__(self, mqtt_url: str, prefix: str) -> None:
        endpoint = parse_mqtt_url(mqtt_url)
        self.prefix = prefix
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-alarms-{uuid.uuid4().hex[:6]}"
        )
        self.client.max_inflight_messages_set(0)
        self.client.connect(endpoint.host, endpoint.port)
        self.client.loop_start()

    def alarm(self, device: str, seq: int) -> float:
        at = time.monotonic()
        body = orjson.dumps({"type": "alarm", "seq": seq})
        self.client.publish(f"{self.prefix}/{device}/event", body, qos=1)
        return at

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def pages(receiver: Receiver, start: int = 0) -> dict[str, list[float]]:
    """Successful requests by path since hit number ``start``."""
    found: dict[str, list[float]] = {}
    for hit in list(receiver.hits)[start:]:
        if hit.ok:
            found.setdefault(hit.path, []).append(hit.at)
    return found


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else 0.0


def latency(
    receiver: Receiver, publisher: Publisher, devices: list[str], gap: float
) -> dict[str, Any]:
    """Alarms one at a time; publish -> first page, in ms."""
    samples: list[float] = []
    lost = 0
    for n, device in enumerate(devices):
        start = len(receiver.hits)
        sent = publisher.alarm(device, n)
        deadline = sent + 10.0
        first: float | None = None
        while first is None and time.monotonic() < deadline:
            got = [min(t) for p, t in pages(receiver, start).items() if p.startswith(f"/{device}/")]
            first = min(got) if got else None
            if first is None:
                time.sleep(0.0005)
        if first is None:
            lost += 1
        else:
            samples.append((first - sent) * 1000)
        time.sleep(gap)
    return {
        "n": len(samples),
        "lost": lost,
        "p50_ms": pct(samples, 50),
        "p99_ms": pct(samples, 99),
        "max_ms": max(samples, default=0.0),
    }


def storm(
    url: str,
    receiver: Receiver,
    publisher: Publisher,
    devices: list[str],
    *,
    spread: float,
    timeout: float,
    meter: CpuMeter,
) -> dict[str, Any]:
    """All ``devices`` alarm within ``spread`` seconds; wait until every contact was paged."""
    start = len(receiver.hits)
    meter.start()
    began = time.monotonic()
    sent: dict[str, float] = {}
    for n, device in enumerate(devices):
        ahead = began + n * spread / len(devices) - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        sent[device] = publisher.alarm(device, n)
    published_s = time.monotonic() - began
    expected = {f"/{d}/{r}" for d in devices for r in ROLES}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if expected <= pages(receiver, start).keys():
            break
        time.sleep(0.25)
    cpu = meter.stop()
    wall_s = time.monotonic() - began
    time.sleep(2.0)  # a late duplicate would show now
    got = pages(receiver, start)
    first: dict[str, float] = {}
    for path, times in got.items():
        device = path.split("/")[1]
        if device in sent:
            first[device] = min(first.get(device, times[0]), *times)
    delays = [first[d] - sent[d] for d in devices if d in first]
    counts = Counter({p: len(t) for p, t in got.items() if p in expected})
    with psycopg.connect(url, autocommit=True) as conn:
        db = conn.execute(
            "SELECT count(*) AS incidents,"
            " extract(epoch FROM max(i.opened_at) - min(e.stored_at)) AS open_span_s,"
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM i.opened_at - e.stored_at)) AS stored_to_open_p50_s,"  # noqa: E501
            " extract(epoch FROM max(i.opened_at - e.stored_at)) AS stored_to_open_max_s,"
            " extract(epoch FROM max(e.stored_at) - min(e.stored_at)) AS store_span_s"
            " FROM incidents i JOIN events e ON e.id = i.first_event_id"
            " WHERE i.device_id = ANY(%s)",
            (devices,),
        ).fetchone()
    assert db is not None
    incidents, open_span, p50_open, max_open, store_span = db
    return {
        "households": len(devices),
        "published_in_s": round(published_s, 3),
        "first_page_p50_s": round(pct(delays, 50), 3),
        "first_page_p95_s": round(pct(delays, 95), 3),
        "first_page_p100_s": round(max(delays, default=0.0), 3),
        "households_paged": len(delays),
        "missed_households": len(devices) - len(delays),
        "contacts_paged": len(counts),
        "missed_contacts": len(expected - counts.keys()),
        "duplicate_pages": sum(c - 1 for c in counts.values()),
        "incidents": incidents,
        "stored_span_s": round(float(store_span or 0), 3),
        "stored_to_incident_p50_s": round(float(p50_open or 0), 3),
        "stored_to_incident_max_s": round(float(max_open or 0), 3),
        "events_per_s": round(incidents / float(open_span), 1) if open_span else None,
        # CPU seconds per part from the first alarm to the last page (the machine has
        # os.cpu_count() cores; 'machine' counts every process, other work included).
        "wall_s": round(wall_s, 2),
        "cpu_s": cpu,
    }


def wait_until_quiet(url: str, timeout: float = 300.0) -> None:
    """No pending event and no due page left (the previous part must not bleed into the next)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM pending_events)"
                " + (SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending')"
                "    AND due_at <= now())"
            ).fetchone()
            if row and row[0] == 0:
                return
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=200, help="latency samples per load")
    parser.add_argument("--gap", type=float, default=0.05, help="pause between latency alarms")
    parser.add_argument("--load-rate", type=float, default=10_000.0, help="telemetry msg/s")
    parser.add_argument("--storm", type=int, default=1000)
    parser.add_argument("--big-storm", action="store_true", help="also 10,000 households")
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=1.0, help="storm publishing window, s")
    parser.add_argument("--only", choices=("latency", "storm", "big"), action="append")
    parser.add_argument("--alerting", type=int, default=1, help="alerting processes")
    parser.add_argument("--senders", type=int, help="sender threads (alerting_workers)")
    parser.add_argument("--label", default="", help="a note stored with the results")
    parser.add_argument("--out", type=Path, default=RESULTS / "alarm_path.json")
    args = parser.parse_args()
    # A background job ignores SIGINT: let SIGTERM unwind too, so the services and the
    # private servers are stopped and the temporary folder removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parts = set(args.only or ["latency", "storm"] + (["big"] if args.big_storm else []))
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "label": args.label,
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "host": platform.node(),
        "alerting_processes": args.alerting,
        "senders": args.senders or "default (64)",
    }
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sw-alarm-path-")))
        url, mqtt_url = stack.enter_context(private_servers(workdir, durable=True))
        migrate(url)
        receiver = Receiver(hang_limit_s=5.0).start()
        stack.callback(receiver.stop)
        with psycopg.connect(url, autocommit=True) as conn:
            households = {
                "idle": seed(conn, "LAT-I", args.alarms, receiver.port),
                "load": seed(conn, "LAT-L", args.alarms, receiver.port),
                "warm": seed(conn, "WARM-", 30, receiver.port),
                "storm": seed(conn, "STORM", args.storm, receiver.port),
            }
            if "big" in parts:
                households["big"] = seed(conn, "BIG-S", args.big, receiver.port)
            with conn.cursor().copy("COPY devices (id, model_code) FROM STDIN") as copy:
                for device in device_ids(5000):
                    copy.write_row((device, "sw-native-1"))
        prefix = f"bench{uuid.uuid4().hex[:6]}/v1"
        env = service_env(url, mqtt_url, prefix, f"bench-ingest-{uuid.uuid4().hex[:6]}")
        for key in NOT_DEFAULTS:
            env.pop(key)
        env |= {
            "SMOKEWATCH_ALERTING_REPEAT_EVERY_S": "3600",
            "SMOKEWATCH_LOG_LEVEL": "WARNING",
        }
        if args.senders:
            env["SMOKEWATCH_ALERTING_WORKERS"] = str(args.senders)
        services = [Service("ingest", env, workdir / "ingest.log")] + [
            Service("alerting", env, workdir / f"alerting-{n}.log") for n in range(args.alerting)
        ]
        for service in services:
            service.start()
            stack.callback(service.stop)
        meter = CpuMeter(
            workdir,
            {
                "ingest": [services[0].pid],
                "alerting": [s.pid for s in services[1:]],
            },
        )
        publisher = Publisher(mqtt_url, prefix)
        stack.callback(publisher.close)
        # Warm-up: one household after another until a page arrives (ingest may not have
        # subscribed yet; a second alarm in the same household would only join its incident).
        for device in households["warm"]:
            if latency(receiver, publisher, [device], 0.0)["n"]:
                break
        else:
            raise SystemExit(f"no page at all; see the logs in {workdir}")

        if "latency" in parts:
            report["idle"] = latency(receiver, publisher, households["idle"], args.gap)
            print(f"idle: {report['idle']}", flush=True)
            seconds = args.alarms * (args.gap + 0.1) + 20
            load = LoadInBackground(
                mqtt_url, prefix, 5000, int(args.load_rate * seconds), rate=args.load_rate
            )
            load.start()
            time.sleep(3)
            report["loaded"] = latency(receiver, publisher, households["load"], args.gap)
            report["loaded"]["telemetry"] = telemetry = load.result(timeout=seconds + 120)
            print(f"loaded: {report['loaded']}", flush=True)
            # The storm must not start while ingest still works through the telemetry.
            with psycopg.connect(url, autocommit=True) as conn:
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    row = conn.execute("SELECT count(*) FROM readings").fetchone()
                    if row and row[0] >= telemetry.get("acked", 0):
                        break
                    time.sleep(1)
            wait_until_quiet(url)
        if "storm" in parts:
            report["storm"] = storm(
                url,
                receiver,
                publisher,
                households["storm"],
                spread=args.spread,
                timeout=300,
                meter=meter,
            )
            print(f"storm: {report['storm']}", flush=True)
            wait_until_quiet(url)
        if "big" in parts:
            report["big"] = storm(
                url,
                receiver,
                publisher,
                households["big"],
                spread=args.spread,
                timeout=900,
                meter=meter,
            )
            print(f"big storm: {report['big']}", flush=True)
    print(table(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {args.out}", file=sys.stderr)


def table(report: dict[str, Any]) -> str:
    """The figures as the Markdown table of docs/benchmarks.md."""
    lines = ["| figure | measured | target |", "|---|---|---|"]
    for key, target, text in (
        ("idle", "p99 < 250 ms", "publish -> first page, idle"),
        ("loaded", "p99 < 500 ms", "publish -> first page, telemetry load"),
    ):
        if key in report:
            r = report[key]
            extra = ""
            if "telemetry" in r:
                extra = f" ({r['telemetry'].get('rate', 0):,.0f} telemetry msg/s)"
            lines.append(
                f"| {text}{extra} | p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms,"
                f" max {r['max_ms']:.1f} ms (n = {r['n']}, lost {r['lost']}) | {target} |"
            )
    for key, target in (("storm", "p100 < 5 s"), ("big", "p100 < 30 s")):
        if key in report:
            r = report[key]
            lines.append(
                f"| storm of {r['households']:,} households (published in"
                f" {r['published_in_s']:.2f} s): first page | p50 {r['first_page_p50_s']:.2f} s,"
                f" p95 {r['first_page_p95_s']:.2f} s, p100 {r['first_page_p100_s']:.2f} s"
                f" | {target} |"
            )
            lines.append(
                f"| same: missed households / contacts, duplicate pages |"
                f" {r['missed_households']} / {r['missed_contacts']},"
                f" {r['duplicate_pages']} | 0, 0 |"
            )
            lines.append(
                f"| same: event -> incident throughput (stored -> opened p50 / max) |"
                f" {r['events_per_s']} events/s ({r['stored_to_incident_p50_s']:.2f} s /"
                f" {r['stored_to_incident_max_s']:.2f} s) | |"
            )
            cpu = r.get("cpu_s") or {}
            lines.append(
                f"| same: CPU seconds in {r.get('wall_s', 0):.1f} s on {os.cpu_count()} cores |"
                f" {', '.join(f'{k} {v:.1f}' for k, v in cpu.items())} | |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
