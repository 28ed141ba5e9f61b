"""Three ingest workers on one MQTT 5 shared subscription; one is killed mid-stream.

What Mosquitto 2.0 does with the killed worker's share (measured here and by the two-member
probe: 100 messages published while one persistent member was offline, 50 went to each):
shared messages keep being assigned round-robin to every member *with a session*, connected or
not. The killed worker's in-flight messages and its share of everything published after the
kill wait in its persistent session and are delivered when a client with the same id
reconnects; nobody else gets them. So the killed worker is restarted under its own client id
(in Kubernetes: a StatefulSet, see docs/operations.md). Idempotent writes on the natural key
make the redelivery of what it had committed but not acknowledged a no-op: every message is
stored exactly once.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devtools.localservers import LocalMosquitto
from tests.support import (
    Publisher,
    count,
    ingest_settings,
    register_devices,
    start_ingest_process,
    unique_prefix,
    wait_until,
)
from tests.test_ingest_faults import DEVICES, stream, wait_subscribed

READINGS = "SELECT count(*) FROM readings"


def test_shared_subscription_worker_killed_mid_stream_stores_everything_once(
    database_url: str, mqtt_broker: LocalMosquitto, tmp_path: Path
) -> None:
    prefix = unique_prefix()
    register_devices(database_url, DEVICES)
    group = f"ingest{uuid.uuid4().hex[:6]}"
    settings = [
        ingest_settings(
            database_url, mqtt_broker.url, prefix,
            ingest_shared_group=group, ingest_client_id=f"scale-{group}-{n}",
        )
        for n in range(3)
    ]  # fmt: skip
    rounds = 150
    total = rounds * len(DEVICES)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for n, worker_settings in enumerate(settings):
            workers.append(start_ingest_process(worker_settings, str(tmp_path / f"ingest-{n}.log")))
        # Every member must be in the group before the stream starts, or the victim gets no share.
        wanted = [f"{s.ingest_client_id}-telemetry" for s in settings]
        wait_until(lambda: all(w in mqtt_broker.log_tail(lines=400) for w in wanted), timeout=60)
        wait_subscribed(mqtt_broker.url, prefix, database_url)

        publisher = stream(mqtt_broker.url, prefix, rounds)
        wait_until(lambda: count(database_url, READINGS) > 3000, timeout=60)
        victim = workers[1]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        stored_at_kill = count(database_url, READINGS)

        publisher.join(timeout=120)
        assert not publisher.is_alive()
        # The survivors store their shares; the victim's share waits in its session (about a
        # third of what was published after the kill). Let them settle, then bring it back.
        settled = wait_until(lambda: _settled(database_url), timeout=60)
        workers[1] = start_ingest_process(settings[1], str(tmp_path / "ingest-1b.log"))
        wait_until(lambda: count(database_url, READINGS) >= total, timeout=90)
        time.sleep(0.5)  # a late duplicate would show up now as an extra row
    finally:
        for process in workers:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
    print(f"stored at kill {stored_at_kill}, before restart {settled}, total {total}")
    assert stored_at_kill < total, "the kill happened too late to prove anything"
    assert settled is not None and settled < total, "the victim's share went to the others"
    assert count(database_url, READINGS) == total
    assert count(database_url, "SELECT count(DISTINCT (device_id, msg_key)) FROM readings") == total
    assert count(database_url, "SELECT count(*) FROM dead_letters") == 0


def _settled(database_url: str) -> int | None:
    """The stored count once it stops growing for half a second, else None (keep polling)."""
    before = count(database_url, READINGS)
    time.sleep(0.5)
    return before if count(database_url, READINGS) == before else None


def test_shared_subscription_keeps_offline_members_share_in_its_session(
    mqtt_broker: LocalMosquitto,
) -> None:
    """The broker behaviour the docs and the StatefulSet rely on, pinned so an upgrade shows it."""
    topic = f"{unique_prefix()}/probe"
    group = f"g{uuid.uuid4().hex[:6]}"
    got = {"a": 0, "b": 0}

    def member(name: str) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"{group}-{name}", protocol=mqtt.MQTTv5
        )
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 300
        subscribed = threading.Event()
        client.on_message = lambda *_: got.__setitem__(name, got[name] + 1)
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_connect = lambda c, *_: c.subscribe(f"$share/{group}/{topic}", qos=1)
        client.connect(mqtt_broker.host, mqtt_broker.port, clean_start=False, properties=props)
        client.loop_start()
        assert subscribed.wait(15)
        return client

    a, b = member("a"), member("b")
    b.disconnect()
    b.loop_stop()
    with Publisher(mqtt_broker.url) as pub:
        for n in range(100):
            pub.publish(topic, str(n).encode())
        pub.flush()
    wait_until(lambda: got["a"] == 50, timeout=30)
    b = member("b")  # the offline member's half was waiting in its session
    wait_until(lambda: got["b"] == 50, timeout=30)
    for client in (a, b):
        client.disconnect()
        client.loop_stop()
    assert got == {"a": 50, "b": 50}
