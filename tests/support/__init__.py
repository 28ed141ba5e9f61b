"""Helpers the tests share: publish for real, wait for the database, run ingest."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from core.config import parse_mqtt_url
from core.factory import create_devices
from ingest import metrics as ingest_metrics
from ingest.service import IngestService
from ingest.settings import IngestSettings

T = TypeVar("T")


@dataclass
class Clock:
    """The time a service under test reads, moved by the test instead of sleeping."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def wait_until(check: Callable[[], T], *, timeout: float = 20.0, interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T = check()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {last!r})")
        time.sleep(interval)
        last = check()
    return last


def count(url: str, sql: str, params: Any = None) -> int:
    """Run a ``SELECT count(*)``-like query on a fresh connection and return the number."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def ingest_handled() -> float:
    """Records the in-process ingest has committed so far: stored or recognised as duplicates.

    The counters are process-wide: take a reading before publishing and compare the difference.
    """
    total = 0.0
    for counter in (ingest_metrics.STORED, ingest_metrics.DUPLICATES):
        for family in counter.collect():
            total += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return total


def register_devices(url: str, device_ids: Iterable[str], model: str = "sw-native-1") -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        create_devices(conn, device_ids=list(device_ids), model_code=model)


class Publisher:
    """A QoS 1 publisher that knows when the broker has every message."""

    def __init__(self, mqtt_url: str) -> None:
        endpoint = parse_mqtt_url(mqtt_url)
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}"
        )
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)
        self._client.connect(endpoint.host, endpoint.port)
        self._client.loop_start()
        self._pending: list[mqtt.MQTTMessageInfo] = []

    def publish(
        self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False
    ) -> None:
        self._pending.append(self._client.publish(topic, payload, qos=qos, retain=retain))

    def flush(self, timeout: float = 60.0) -> None:
        """Block until the broker acknowledged everything published so far."""
        deadline = time.monotonic() + timeout
        for info in self._pending:
            info.wait_for_publish(timeout=max(0.1, deadline - time.monotonic()))
            assert info.is_published(), "broker did not acknowledge a message in time"
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}/v1"


def ingest_settings(
    database_url: str, mqtt_url: str, prefix: str, **overrides: Any
) -> IngestSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "mqtt_url": mqtt_url,
        "topic_prefix": prefix,
        "ingest_client_id": f"test-ingest-{uuid.uuid4().hex[:8]}",
        "ingest_metrics_port": 0,
        "environment": "test",
    }
    values.update(overrides)
    return IngestSettings(**values)


@contextmanager
def running_ingest(settings: IngestSettings) -> Iterator[IngestService]:
    """Run the ingest service in this process (threads) for the duration of the block."""
    service = IngestService(settings)
    service.start()
    try:
        assert service.wait_connected(15), "ingest did not connect to the broker"
        yield service
    finally:
        service.stop()


def ingest_environment(settings: IngestSettings) -> dict[str, str]:
    """Environment for a ``smokewatch ingest`` subprocess with these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}
    env.update(
        {
            "SMOKEWATCH_DATABASE_URL": settings.database_url,
            "SMOKEWATCH_MQTT_URL": settings.mqtt_url,
            "SMOKEWATCH_TOPIC_PREFIX": settings.topic_prefix,
            "SMOKEWATCH_INGEST_CLIENT_ID": settings.ingest_client_id,
            "SMOKEWATCH_INGEST_METRICS_PORT": "0",
            "SMOKEWATCH_ENVIRONMENT": "test",
        }
    )
    if settings.ingest_shared_group:
        env["SMOKEWATCH_INGEST_SHARED_GROUP"] = settings.ingest_shared_group
    return env


def start_ingest_process(settings: IngestSettings, log_path: str) -> subprocess.Popen[bytes]:
    """Start ``smokewatch ingest`` as a real process (for kill -9 tests)."""
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child for its lifetime
    return subprocess.Popen(
        [sys.executable, "-m", "smokewatch", "ingest"],
        env=ingest_environment(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def in_background(fn: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    return thread
