"""Ingest throughput and alarm latency, next to a bare paho subscriber measured in the same run.

    python -m bench.ingest_throughput                       # private PostgreSQL + Mosquitto
    python -m bench.ingest_throughput --messages 300000 --devices 10000

Everything runs on this machine over loopback, bounded by --messages. Results are printed as
a Markdown table and written to bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from contextlib import ExitStack
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from bench.servers import private_servers
from core.config import parse_mqtt_url
from core.factory import create_devices
from core.migrate import migrate
from core.pg_channels import EVENTS_CHANNEL, listen_sql
from device_sim.load import LoadOptions
from device_sim.load import run_load as sim_load

ID_PREFIX = "BENCH"


def load(
    mqtt_url: str, prefix: str, devices: int, messages: int, rate: float | None = None
) -> dict[str, float]:
    """Publish a bounded telemetry load with the simulator's load mode (raw MQTT, 2 processes)."""
    options = LoadOptions(
        devices=devices, id_prefix=ID_PREFIX, processes=2, rate=rate, count=messages,
        duration=None, ack_timeout=300,
    )  # fmt: skip
    began = time.monotonic()
    report = sim_load(options, mqtt_url=mqtt_url, topic_prefix=prefix)
    if report.errors:
        raise RuntimeError("; ".join(report.errors))
    seconds = time.monotonic() - began
    return {"published": report.published, "acked": report.acked, "rate": report.acked / seconds}


def device_ids(devices: int) -> list[str]:
    return LoadOptions(devices=devices, id_prefix=ID_PREFIX).device_ids()


class LoadInBackground:
    """Run :func:`load` on a thread (the simulator itself runs in child processes)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._result: dict[str, float] = {}
        self._thread = threading.Thread(
            target=lambda: self._result.update(load(*args, **kwargs)),  # type: ignore[arg-type]
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def result(self, timeout: float = 600) -> dict[str, float]:
        self._thread.join(timeout)
        return self._result


RESULTS = Path(__file__).parent / "results"


# --- the baseline: a bare paho subscriber that only counts ------------------------------


class CountingSubscriber:
    """QoS 1, MQTT 5, persistent session, same Receive Maximum as ingest; counts and acks."""

    def __init__(self, mqtt_url: str, topic: str, client_id: str) -> None:
        endpoint = parse_mqtt_url(mqtt_url)
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self._client.on_message = self._on_message
        self._client.on_connect = lambda c, *_: c.subscribe([(topic, SubscribeOptions(qos=1))])
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        props.ReceiveMaximum = 20000
        self._client.connect(endpoint.host, endpoint.port, clean_start=False, properties=props)
        self._client.loop_start()
        time.sleep(0.5)

    def _on_message(self, *_args: object) -> None:
        now = time.monotonic()
        if self.first is None:
            self.first = now
        self.last = now
        self.count += 1

    def wait_for(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count < n and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def baseline(mqtt_url: str, devices: int, messages: int) -> dict[str, float]:
    prefix = f"base{uuid.uuid4().hex[:6]}/v1"
    client_id = f"bench-baseline-{uuid.uuid4().hex[:6]}"
    # Live: publishers and subscriber at the same time.
    sub = CountingSubscriber(mqtt_url, f"{prefix}/+/telemetry", client_id)
    began = time.monotonic()
    load(mqtt_url, prefix, devices, messages)
    sub.wait_for(messages, timeout=300)
    live_rate = sub.count / ((sub.last or began) - began)
    sub.close()
    # Drain: the messages wait in the broker, then the subscriber empties its session.
    load(mqtt_url, prefix, devices, messages)
    sub = CountingSubscriber(mqtt_url, f"{prefix}/+/telemetry", client_id)
    sub.wait_for(messages, timeout=300)
    drain_rate = sub.count / ((sub.last or 0) - (sub.first or 0) or 1e-9)
    sub.close()
    return {"live_rate": live_rate, "drain_rate": drain_rate, "received": sub.count}


# --- smokewatch ingest, as a real process --------------------------------------------------


class IngestProcess:
    def __init__(
        self, database_url: str, mqtt_url: str, prefix: str, client_id: str, log: Path
    ) -> None:
        self.metrics_port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}
        env.update(
            {
                "SMOKEWATCH_DATABASE_URL": database_url,
                "SMOKEWATCH_MQTT_URL": mqtt_url,
                "SMOKEWATCH_TOPIC_PREFIX": prefix,
                "SMOKEWATCH_INGEST_CLIENT_ID": client_id,
                "SMOKEWATCH_INGEST_METRICS_PORT": str(self.metrics_port),
                "SMOKEWATCH_LOG_LEVEL": "WARNING",
            }
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smokewatch", "ingest"],
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.metric("smokewatch_ingest_mqtt_connected") >= 2:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("ingest did not come up")

    def metric(self, name: str) -> float:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2
        ) as r:
            text = r.read().decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith(name + "_created"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def stored(self) -> float:
        return self.metric('smokewatch_ingest_stored_total{kind="reading"}') + self.metric(
            "smokewatch_ingest_duplicates_total"
        )

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_stored(
    ingest: IngestProcess, target: float, timeout: float, rss: list[float]
) -> tuple[float, float]:
    """Return (time first stored, time target reached), sampling RSS on the way."""
    deadline = time.monotonic() + timeout
    first = None
    while time.monotonic() < deadline:
        value = ingest.stored()
        now = time.monotonic()
        if first is None and value > 0:
            first = now
        rss.append(ingest.rss_mb())
        if value >= target:
            return first or now, now
        time.sleep(0.05)
    raise RuntimeError(f"ingest stored {ingest.stored()} of {target} in {timeout}s")


def alarm_latencies(
    database_url: str, mqtt_url: str, prefix: str, device: str, count: int
) -> list[float]:
    """Publish alarms one by one; latency = publish to NOTIFY received (commit + wake-up)."""
    endpoint = parse_mqtt_url(mqtt_url)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-alarm-{uuid.uuid4().hex[:6]}")
    pub.connect(endpoint.host, endpoint.port)
    pub.loop_start()
    out = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(listen_sql(EVENTS_CHANNEL))
        for n in range(count):
            seq = 5_000_000 + n + int(time.time())
            sent = time.monotonic()
            pub.publish(
                f"{prefix}/{device}/event", json.dumps({"type": "alarm", "seq": seq}), qos=1
            )
            notes = list(conn.notifies(timeout=5, stop_after=1))
            if notes:
                out.append((time.monotonic() - sent) * 1000)
            time.sleep(0.02)
    pub.disconnect()
    pub.loop_stop()
    return out


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--alarms", type=int, default=200)
    args = parser.parse_args()

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sw-bench-")))
        database_url, mqtt_url = stack.enter_context(private_servers(workdir, durable=True))
        migrate(database_url)
        ids = device_ids(args.devices)
        with psycopg.connect(database_url, autocommit=True) as conn:
            create_devices(conn, device_ids=[*ids, "BENCH-ALARM"])
        print(f"registered {args.devices} devices", flush=True)

        base = baseline(mqtt_url, args.devices, args.messages)
        print(f"baseline: {base}", flush=True)

        prefix = f"bench{uuid.uuid4().hex[:6]}/v1"
        client_id = f"bench-ingest-{uuid.uuid4().hex[:6]}"
        log = workdir / "ingest.log"
        rss: list[float] = []

        ingest = IngestProcess(database_url, mqtt_url, prefix, client_id, log)
        idle = alarm_latencies(database_url, mqtt_url, prefix, "BENCH-ALARM", args.alarms)
        print(f"idle alarm latency p50 {pct(idle, 50):.1f} p99 {pct(idle, 99):.1f} ms", flush=True)

        # Live: publishers and ingest at the same time; throughput published -> committed.
        began = time.monotonic()
        load(mqtt_url, prefix, args.devices, args.messages)
        _, done = wait_stored(ingest, args.messages, 600, rss)
        live_rate = args.messages / (done - began)
        print(f"ingest live: {live_rate:.0f} msg/s", flush=True)

        # Alarms while a background load runs at about 15,000 msg/s (or 80 % of live capacity).
        load_rate = min(15_000.0, live_rate * 0.8)
        load_messages = int(load_rate * 25)
        before = ingest.stored()
        background = LoadInBackground(mqtt_url, prefix, args.devices, load_messages, rate=load_rate)
        background.start()
        time.sleep(3)
        loaded = alarm_latencies(database_url, mqtt_url, prefix, "BENCH-ALARM", args.alarms)
        load_result = background.result()
        wait_stored(ingest, before + load_messages, 600, rss)
        print(
            f"loaded alarm latency p50 {pct(loaded, 50):.1f} p99 {pct(loaded, 99):.1f} ms",
            flush=True,
        )
        ingest.stop()

        # Drain: the backlog waits in the broker, then a fresh ingest process empties it.
        load(mqtt_url, prefix, args.devices, args.messages)
        ingest = IngestProcess(database_url, mqtt_url, prefix, client_id, log)
        first, done = wait_stored(ingest, args.messages, 600, rss)
        drain_rate = args.messages / (done - first)
        ingest.stop()
        with psycopg.connect(database_url) as conn:
            stored = conn.execute("SELECT count(*) FROM readings").fetchone()
        expected = 2 * args.messages + load_messages

        result = {
            "messages": args.messages,
            "devices": args.devices,
            "baseline_live_rate": base["live_rate"],
            "baseline_drain_rate": base["drain_rate"],
            "ingest_live_rate": live_rate,
            "ingest_drain_rate": drain_rate,
            "live_ratio": live_rate / base["live_rate"],
            "drain_ratio": drain_rate / base["drain_rate"],
            "alarm_idle_p50_ms": pct(idle, 50),
            "alarm_idle_p99_ms": pct(idle, 99),
            "alarm_idle_n": len(idle),
            "alarm_load_p50_ms": pct(loaded, 50),
            "alarm_load_p99_ms": pct(loaded, 99),
            "alarm_load_n": len(loaded),
            "background_rate": load_result["rate"],
            "ingest_rss_max_mb": max(rss) if rss else None,
            "ingest_rss_median_mb": statistics.median(rss) if rss else None,
            "readings_stored": stored[0] if stored else None,
            "readings_expected": expected,
        }
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "ingest.json").write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
