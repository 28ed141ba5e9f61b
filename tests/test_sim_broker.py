"""The simulator against a real Mosquitto: exact ack counts, what subscribers receive,
retained status and Last Will, the multi-process load mode and reconnection."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.config import parse_mqtt_url
from device_sim.cli_entry import SimOptions, run, run_load
from device_sim.load import LoadOptions
from device_sim.mqtt import PahoLink, Pump
from device_sim.rawmqtt import RawLink
from device_sim.settings import SimSettings
from devtools.localservers import LocalMosquitto


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` s (a bound, not a timing test)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


class Subscriber:
    """A bare paho subscriber that keeps every message it receives."""

    def __init__(self, url: str, topic_filter: str) -> None:
        endpoint = parse_mqtt_url(url)
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-sub-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *args: self._subscribed.set()
        self._client.on_connect = lambda c, *args: c.subscribe(topic_filter, qos=1)
        self._client.connect(endpoint.host, endpoint.port)
        self._client.loop_start()
        assert self._subscribed.wait(10), "subscription not confirmed"

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload, bool(message.retain)))

    def count(self) -> int:
        with self._lock:
            return len(self.messages)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def settings(mqtt_broker: LocalMosquitto, topic_prefix: str) -> SimSettings:
    return SimSettings(mqtt_url=mqtt_broker.url, topic_prefix=topic_prefix, environment="test")


@pytest.fixture
def subscriber(mqtt_broker: LocalMosquitto, topic_prefix: str) -> Iterator[Subscriber]:
    sub = Subscriber(mqtt_broker.url, f"{topic_prefix}/#")
    yield sub
    sub.close()


def test_publish_fleet_and_scenarios_every_message_acked_and_received(
    settings: SimSettings, subscriber: Subscriber
) -> None:
    options = SimOptions(
        households=20, venues=5, heartbeat_seconds=300, realtime=False, sim_seconds=3600,
        duration=None, scenarios=("fire", "nuisance:2", "duplicate", "reboot", "malformed"),
        record=True,
    )  # fmt: skip
    report = run(settings, options)
    assert report.stopped_by == "sim_seconds"
    assert report.published == report.acked == report.sent
    assert report.rejected == 0
    assert report.expected["duplicate"] == 2 and report.expected["dead_letter"] >= 20
    wait_until(lambda: subscriber.count() >= report.published)
    sent = Counter((m.topic, m.payload) for m in report.messages or [])
    received = Counter((topic, payload) for topic, payload, _ in subscriber.messages)
    assert received == sent


def test_publish_per_device_retained_online_and_will_when_silent(
    settings: SimSettings, mqtt_broker: LocalMosquitto, topic_prefix: str
) -> None:
    options = SimOptions(
        households=3, venues=0, id_prefix="PD", heartbeat_seconds=0, duration=None,
        connections="per_device", scenarios=("silent@1",), time_scale=100, seed=1,
    )  # fmt: skip
    report = run(settings, options)
    # Three retained "online" on connect, and the silent device's last telemetry.
    assert (report.sent, report.published, report.acked, report.wills) == (1, 4, 4, 1)
    assert report.by_kind == {"telemetry": 1}
    late = Subscriber(mqtt_broker.url, f"{topic_prefix}/+/status")
    try:
        wait_until(lambda: late.count() >= 3)
        states = {
            topic.split("/")[-2]: payload for topic, payload, retained in late.messages if retained
        }
    finally:
        late.close()
    assert sorted(states.values()) == [b"offline", b"online", b"online"]


@pytest.mark.parametrize("engine", ["raw", "paho"])
def test_load_processes_publish_exact_counts_with_marked_alarms(
    settings: SimSettings, subscriber: Subscriber, engine: str
) -> None:
    options = LoadOptions(
        devices=300, id_prefix="LD", processes=2, count=6000, duration=120, alarm_every=500,
        engine=engine, window=500,  # type: ignore[arg-type]
    )  # fmt: skip
    report = run_load(settings, options)
    assert report.errors == []
    assert [p.published for p in report.processes] == [3000, 3000]
    assert report.published == report.acked == 6000
    assert len(report.marked) == 12
    wait_until(lambda: subscriber.count() >= 6000)
    devices = {topic.split("/")[-2] for topic, _, _ in subscriber.messages}
    assert len(devices) == 300  # every device of the run, from disjoint slices
    alarms = [orjson.loads(p) for t, p, _ in subscriber.messages if t.endswith("/event")]
    assert sorted(a["sent_at"] for a in alarms) == sorted(m.sent_at for m in report.marked)
    assert {(m.device_id, m.seq) for m in report.marked} == {
        (t.split("/")[-2], orjson.loads(p)["seq"])
        for t, p, _ in subscriber.messages
        if t.endswith("/event")
    }


@pytest.mark.parametrize("engine", ["raw", "paho"])
def test_link_survives_broker_restart_every_message_acked(
    mqtt_broker: LocalMosquitto, topic_prefix: str, engine: str
) -> None:
    endpoint = parse_mqtt_url(mqtt_broker.url)
    link_class = RawLink if engine == "raw" else PahoLink
    link = link_class(endpoint, client_id=f"test-link-{uuid.uuid4().hex[:8]}", window=200)
    pump = Pump([link])
    pump.connect(10)
    topic = f"{topic_prefix}/R-1/telemetry"
    for seq in range(500):
        pump.wait_for_room(link, timeout=30)
        link.publish(topic, b'{"seq":%d}' % seq)
    mqtt_broker.stop()
    for seq in range(500, 800):  # queued while the broker is down
        link.publish(topic, b'{"seq":%d}' % seq)
    pump.run(0.2)
    mqtt_broker.start()
    pump.flush(60)
    assert (link.published, link.acked, link.rejected) == (800, 800, 0)
    assert link.reconnects >= 1
    pump.close()
