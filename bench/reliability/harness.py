"""One reliability scenario: services as real processes, a bounded load, a fault, two fire alarms.

Topology (all loopback): load publisher -> Mosquitto <- FaultProxy <- ingest process ->
FaultProxy -> PostgreSQL <- FaultProxy <- alerting process -> Receiver. A fire alarm is
published during the fault and another after it; each opens its own incident in its own
household, whose wave-1 contacts have a flaky channel first and a healthy one second.
Measured: messages the broker accepted but the store lacks (lost), pages per person beyond
one (duplicates), publish -> first successful page per alarm (alert delay), fault end ->
backlog committed (recovery).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from bench.reliability.receiver import Receiver
from core.factory import (
    create_contact,
    create_device,
    create_devices,
    create_organisation,
    create_site,
)

ACK_SECRET = "reliability-ack-secret-" + "s" * 24
PROVIDER_KEY = "PROVKEY7f3a9c"  # a provider key inside the contacts' Apprise URLs
PHONE = "13912345678"
RESIDENT = "王秀英"
WAVE1 = ("resident", "family", "grid_worker")
FIRES = ("during", "after")


@dataclass
class Servers:
    """What a scenario needs from the servers: objects with ``stop()``/``start()``."""

    pg: Any  # LocalPostgres
    broker: Any  # LocalMosquitto
    database_url: str
    workdir: Path


@dataclass
class Result:
    """Measured figures of one scenario."""

    scenario: str
    published: int = 0
    accepted: int = 0  # acknowledged by the broker
    stored: int = 0
    lost: int = 0
    dead_letters: int = 0
    fires_answered: int = 0
    fires: int = len(FIRES)
    duplicate_pages: int = 0
    alert_delay_s: dict[str, float | None] = field(default_factory=dict)
    recovery_s: float | None = None
    notes: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)  # secrets or personal data found in logs

    def row(self) -> dict[str, Any]:
        return self.__dict__ | {"alert_delay_s": dict(self.alert_delay_s)}


class Load:
    """Telemetry from ``devices`` detectors at ``rate`` msg/s (QoS 1) until stopped or ``limit``."""

    def __init__(
        self,
        mqtt_host: str,
        mqtt_port: int,
        prefix: str,
        devices: list[str],
        *,
        track_keys: bool = True,
    ) -> None:
        self.prefix, self.devices = prefix, devices
        # Keys of accepted messages (a soak's millions only count: a set would take GBs).
        self.track_keys = track_keys
        self.accepted: set[tuple[str, int]] = set()
        self.accepted_count = 0
        self._inflight: dict[int, tuple[str, int]] = {}
        self._early: set[int] = set()
        self._lock = threading.Lock()
        self.published = 0
        self._stop = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"rel-load-{uuid.uuid4().hex[:8]}"
        )
        self._client.max_inflight_messages_set(500)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(1, 2)
        self._client.on_publish = self._on_publish
        self._client.connect(mqtt_host, mqtt_port)
        self._client.loop_start()
        self._thread: threading.Thread | None = None

    def _on_publish(self, _c: Any, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        with self._lock:
            key = self._inflight.pop(mid, None)
            if key is None:
                self._early.add(mid)  # acked before publish() returned and registered it
            elif key[1] >= 0:
                self._accept(key)

    def _accept(self, key: tuple[str, int]) -> None:
        self.accepted_count += 1
        if self.track_keys:
            self.accepted.add(key)

    def publish(self, topic: str, payload: bytes, key: tuple[str, int] | None = None) -> None:
        """Publish at QoS 1; ``key`` (device, seq) is counted as accepted once the broker acks."""
        # Never hold our lock across paho's publish: paho calls on_publish under its own lock.
        info = self._client.publish(topic, payload, qos=1)
        key = key or ("", -1)
        with self._lock:
            if info.mid in self._early:
                self._early.discard(info.mid)
                if key[1] >= 0:
                    self._accept(key)
            else:
                self._inflight[info.mid] = key

    def run(self, rate: float, limit: int) -> None:
        """Publish in the background, paced to ``rate``, at most ``limit`` messages."""

        def loop() -> None:
            start = time.monotonic()
            base_ts = time.time() - 3600
            for n in range(limit):
                if self._stop.is_set():
                    return
                device = self.devices[n % len(self.devices)]
                seq = n // len(self.devices)
                ts = base_ts + n / 1000
                body = orjson.dumps({"ts": ts, "seq": seq, "battery": 80, "signal": -60})
                self.publish(f"{self.prefix}/{device}/telemetry", body, (device, seq))
                self.published += 1
                ahead = start + (n + 1) / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop(self, drain_s: float = 60.0) -> None:
        """Stop publishing and wait (bounded) for the broker's acks of what is in flight."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        deadline = time.monotonic() + drain_s
        while self._inflight and time.monotonic() < deadline:
            time.sleep(0.05)
        self._client.disconnect()
        self._client.loop_stop()


def seed(
    url: str, receiver: Receiver, devices: list[str], fires: tuple[str, ...] = FIRES
) -> dict[str, str]:
    """Register the load devices and one household per fire alarm; return fire -> device id."""
    fire_devices: dict[str, str] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        create_devices(conn, device_ids=devices)
        tag = uuid.uuid4().hex[:6]
        sub = create_organisation(
            conn, level="sub_district", code=f"rel-sub-{tag}", name="南张街道"
        )
        for fire in fires:
            village = create_organisation(
                conn, level="village", code=f"rel-v-{fire}-{tag}", name="南张村", parent_id=sub
            )
            site = create_site(
                conn,
                org_id=village,
                name=f"{RESIDENT}家 {fire}",
                address="南张村三组8号",
                phone=PHONE,
                resident_name=RESIDENT,
            )
            device = create_device(
                conn, device_id=f"REL-FIRE-{fire}-{tag}", site_id=site, room="厨房"
            )
            for role in WAVE1:
                who = f"{fire}-{role}"
                # The phone number is in the URL (as in an SMS plugin's) and the failing
                # provider echoes it: the log-leak check proves neither reaches a log line.
                channels = [
                    receiver.url(f"flaky/{PHONE}/{who}", key=PROVIDER_KEY),
                    receiver.url(f"ok/{who}", key=PROVIDER_KEY),
                ]
                create_contact(
                    conn,
                    site_id=site if role != "grid_worker" else None,
                    org_id=village if role == "grid_worker" else None,
                    name=RESIDENT if role == "resident" else "联系人",
                    role=role,
                    phone=PHONE,
                    channels=channels,
                )
            fire_devices[fire] = device
    return fire_devices


SECRETS = {
    "ack secret": ACK_SECRET,
    "provider key": PROVIDER_KEY,
    "phone number": PHONE,
    "resident name": RESIDENT,
}


def leaks(text: str) -> list[str]:
    """Which secrets or personal data appear in ``text`` (a service's log)."""
    return [name for name, value in SECRETS.items() if value in text]


def service_env(
    database_url: str, mqtt_url: str, prefix: str, client_id: str, **extra: str
) -> dict[str, str]:
    """Environment of a ``smokewatch`` service process for this scenario."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}
    env |= {
        "SMOKEWATCH_DATABASE_URL": database_url,
        "SMOKEWATCH_MQTT_URL": mqtt_url,
        "SMOKEWATCH_TOPIC_PREFIX": prefix,
        "SMOKEWATCH_ENVIRONMENT": "test",
        "SMOKEWATCH_INGEST_CLIENT_ID": client_id,
        "SMOKEWATCH_INGEST_METRICS_PORT": "0",
        "SMOKEWATCH_ACK_SECRET": ACK_SECRET,
        "SMOKEWATCH_ACK_BASE_URL": "https://sw.example/a/",
        "SMOKEWATCH_ALERTING_METRICS_PORT": "0",
        "SMOKEWATCH_ALERTING_WAVE2_AFTER_S": "3600",
        "SMOKEWATCH_ALERTING_WAVE3_AFTER_S": "7200",
        "SMOKEWATCH_ALERTING_REPEAT_LAST": "0",
        "SMOKEWATCH_ALERTING_REQUEST_TIMEOUT_S": "1",
        "SMOKEWATCH_ALERTING_ATTEMPTS_PER_CHANNEL": "2",
        "SMOKEWATCH_ALERTING_BACKOFF_S": "0.1",
        "SMOKEWATCH_ALERTING_LEASE_S": "5",
        "SMOKEWATCH_ALERTING_POLL_INTERVAL_S": "0.5",
        "SMOKEWATCH_ALERTING_DIGEST_AT": "off",
        "SMOKEWATCH_LOG_LEVEL": "INFO",
    }
    return env | extra


class Service:
    """A ``smokewatch <command>`` child process that can be killed and started again."""

    def __init__(self, command: str, env: dict[str, str], log_path: Path) -> None:
        self.command, self.env, self.log_path = command, env, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "smokewatch", self.command],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None


def proc_stats(pid: int | None) -> tuple[int, int]:
    """(resident memory in kB, open file descriptors) of a process, (0, 0) when gone."""
    if pid is None:
        return 0, 0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration):
        return 0, 0
    return rss, fds


def scalar(url: str, sql: str, params: Any = None) -> int:
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def wait_for(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> float | None:
    """Seconds until ``check()`` held, or None after ``timeout`` (never raises)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if check():
                return time.monotonic() - start
        except psycopg.Error:
            pass  # the database may still be on its way back
        time.sleep(interval)
    return None
