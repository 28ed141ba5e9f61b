"""Alert latency: alarm committed (or published on MQTT) -> first HTTP request at a receiver.

Runs the real ``smokewatch alerting`` process (and ``smokewatch ingest`` with ``--mqtt``)
against a scratch database, one household per alarm with one wave-1 contact whose Apprise
``json://`` URL points at a loopback receiver. Alarms go one at a time (each waits for its
request), so the figure is per-alarm latency, not throughput. ``--load-rate`` adds telemetry
publishing in a child process while measuring. Bounded: ``--alarms`` alarms, 10 s each.

    python bench/alert_latency.py --alarms 200            # event committed -> HTTP
    python bench/alert_latency.py --alarms 200 --mqtt     # MQTT publish -> HTTP
    python bench/alert_latency.py --alarms 200 --mqtt --load-rate 2000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, urlunsplit

import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from core.config import parse_mqtt_url
from core.factory import (
    create_contact,
    create_device,
    create_devices,
    create_organisation,
    create_site,
)
from core.migrate import migrate
from core.pg_channels import EVENTS_CHANNEL

SECRET = "bench-secret-" + "x" * 32


class Receiver:
    """Loopback HTTP receiver noting when each path is first requested (time.time())."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.time()
                with receiver.lock:
                    receiver.first.setdefault(self.path, at)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b'{"errcode": 0}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def wait(self, path: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if path in self.first:
                    return self.first[path]
            time.sleep(0.0005)
        return None


def scratch_database(admin_url: str) -> str:
    name = f"sw_bench_alert_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(url: str, count: int, port: int) -> list[str]:
    devices = [f"BENCH-A{n:05d}" for n in range(count)]
    with psycopg.connect(url, autocommit=True) as conn:
        org = create_organisation(conn, level="village", code="bench", name="bench")
        for device in devices:
            site = create_site(
                conn, org_id=org, name=device, address=f"地址 {device}", resident_name="测试"
            )
            create_device(conn, device_id=device, site_id=site, room="厨房")
            create_contact(
                conn,
                site_id=site,
                name="住户",
                role="resident",
                channels=[f"json://127.0.0.1:{port}/{device}"],
            )
    return devices


def environment(url: str, mqtt_url: str, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}
    env.update(
        {
            "SMOKEWATCH_DATABASE_URL": url,
            "SMOKEWATCH_MQTT_URL": mqtt_url,
            "SMOKEWATCH_TOPIC_PREFIX": prefix,
            "SMOKEWATCH_ENVIRONMENT": "test",
            "SMOKEWATCH_ACK_SECRET": SECRET,
            "SMOKEWATCH_ALERTING_METRICS_PORT": "0",
            "SMOKEWATCH_INGEST_METRICS_PORT": "0",
            "SMOKEWATCH_LOG_LEVEL": "WARNING",
            "SMOKEWATCH_INGEST_CLIENT_ID": f"bench-ingest-{uuid.uuid4().hex[:6]}",
            "SMOKEWATCH_ALERTING_WAVE2_AFTER_S": "3600",
            "SMOKEWATCH_ALERTING_WAVE3_AFTER_S": "7200",
        }
    )
    return env


def commit_alarm(conn: psycopg.Connection, device: str, seq: int) -> float:
    """Store an alarm as ingest does and return the wall time right after COMMIT."""
    now = datetime.now(UTC)
    with conn.transaction():
        event_id = conn.execute(
            "INSERT INTO events (device_id, ts, received_at, msg_key, type, priority, site_id)"
            " SELECT %s, %s, %s, %s, 'alarm', 1, site_id FROM devices WHERE id = %s"
            " RETURNING id",
            (device, now, now, seq, device),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO pending_events (event_id, event_ts, device_id, type, priority)"
            " VALUES (%s, %s, %s, 'alarm', 1)",
            (event_id, now, device),
        )
        conn.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, str(event_id)))
    return time.time()


def telemetry_load(mqtt_url: str, prefix: str, rate: float, seconds: float) -> None:
    """Publish telemetry from 5,000 devices at ``rate`` msg/s for ``seconds`` (child process)."""
    endpoint = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-load-{uuid.uuid4().hex[:6]}"
    )
    client.max_inflight_messages_set(2000)
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    start = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate)
        while sent < due:
            device = f"BENCH-L{sent % 5000:05d}"
            client.publish(
                f"{prefix}/{device}/telemetry",
                orjson.dumps({"seq": sent, "battery": 80, "signal": -70}),
                qos=1,
            )
            sent += 1
        time.sleep(0.005)
    client.loop_stop()
    client.disconnect()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=200)
    parser.add_argument("--mqtt", action="store_true", help="publish alarms through ingest")
    parser.add_argument("--load-rate", type=float, default=0.0, help="telemetry msg/s meanwhile")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--gap", type=float, default=0.02, help="pause between alarms (s)")
    args = parser.parse_args()

    url = scratch_database(args.admin_url)
    receiver = Receiver()
    processes: list[subprocess.Popen[bytes]] = []
    load: mp.Process | None = None
    log = tempfile.NamedTemporaryFile(prefix="alert_latency_", suffix=".log", delete=False)  # noqa: SIM115
    try:
        migrate(url)
        devices = seed(url, args.alarms + 1, receiver.port)
        prefix = f"bench{uuid.uuid4().hex[:6]}/v1"
        env = environment(url, args.mqtt_url, prefix)
        if args.mqtt:
            with psycopg.connect(url, autocommit=True) as conn:  # load devices must exist
                create_devices(conn, device_ids=[f"BENCH-L{n:05d}" for n in range(5000)])
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "smokewatch", "ingest"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "smokewatch", "alerting"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        endpoint = parse_mqtt_url(args.mqtt_url)
        publisher = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:6]}"
        )
        publisher.connect(endpoint.host, endpoint.port)
        publisher.loop_start()
        conn = psycopg.connect(url, autocommit=True)

        def fire(index: int, device: str) -> float:
            if args.mqtt:
                started = time.time()
                publisher.publish(
                    f"{prefix}/{device}/event", orjson.dumps({"type": "alarm", "seq": index}), qos=1
                )
                return started
            return commit_alarm(conn, device, index)

        # Warm-up alarm: waits for both services to be up (bounded).
        warm = devices[-1]
        deadline = time.monotonic() + 60
        fire(0, warm)
        while receiver.wait(f"/{warm}", 1.0) is None:
            if time.monotonic() > deadline:
                raise SystemExit(f"no delivery within 60 s; see {log.name}")
            if args.mqtt:
                fire(0, warm)  # ingest may not have subscribed yet; a repeat joins the incident
        if args.load_rate:
            seconds = args.alarms * (args.gap + 0.5) + 30
            load = mp.Process(
                target=telemetry_load,
                args=(args.mqtt_url, prefix, args.load_rate, seconds),
                daemon=True,
            )
            load.start()
            time.sleep(2)
        latencies: list[float] = []
        lost = 0
        for index, device in enumerate(devices[:-1], start=1):
            started = fire(index, device)
            arrived = receiver.wait(f"/{device}", 10.0)
            if arrived is None:
                lost += 1
            else:
                latencies.append((arrived - started) * 1000)
            time.sleep(args.gap)
        mode = "MQTT publish" if args.mqtt else "event commit"
        load_text = f", telemetry load {args.load_rate:.0f} msg/s" if args.load_rate else ", idle"
        print(
            f"alert latency, {mode} -> first HTTP request{load_text}: n={len(latencies)}"
            f" lost={lost} p50={statistics.median(latencies):.1f} ms"
            f" p95={percentile(latencies, 0.95):.1f} ms p99={percentile(latencies, 0.99):.1f} ms"
            f" max={max(latencies):.1f} ms"
        )
        if args.load_rate:
            stored = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
            print(f"telemetry stored by ingest meanwhile: {stored} readings")
        publisher.loop_stop()
        conn.close()
    finally:
        if load is not None and load.is_alive():
            load.terminate()
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        receiver.server.shutdown()
        drop_database(args.admin_url, url)


if __name__ == "__main__":
    main()
