"""The private servers behind the fixtures: data survives restarts, nothing outlives us."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devtools.localservers import (
    LocalMosquitto,
    LocalPostgres,
    LocalServerError,
    StopMode,
    free_port,
)
from tests.support import wait_until


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except FileNotFoundError:
        return False
    # A zombie is dead for our purpose: it only waits for its parent to reap it.
    return state != "Z"


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_keeps_committed_data_and_port_across_a_restart(
    tmp_path: Path, mode: StopMode
) -> None:
    with LocalPostgres(tmp_path / "pg", fsync=False) as server:
        port = server.port
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (n int)")
            conn.execute("INSERT INTO kept VALUES (1), (2)")

        server.restart(mode)

        assert server.port == port
        with psycopg.connect(server.admin_url) as conn:
            assert conn.execute("SELECT sum(n) FROM kept").fetchone() == (3,)
            settings = dict(
                conn.execute(
                    "SELECT name, setting FROM pg_settings WHERE name IN "
                    "('listen_addresses', 'server_encoding', 'lc_collate', 'max_connections')"
                ).fetchall()
            )
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "server_encoding": "UTF8",
        "lc_collate": "C",
        "max_connections": "200",
    }
    assert not server.is_running


def test_postgres_runs_as_the_postgres_user_when_we_are_root(pg_server: LocalPostgres) -> None:
    assert pg_server.pid is not None
    uid = int(Path(f"/proc/{pg_server.pid}/status").read_text().split("Uid:")[1].split()[0])
    expected = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
    assert uid == expected


def test_postgres_url_for_quotes_the_database_name(pg_server: LocalPostgres) -> None:
    assert pg_server.url_for("a b/c").endswith(f":{pg_server.port}/a%20b%2Fc")
    assert pg_server.admin_url == f"postgresql://postgres@127.0.0.1:{pg_server.port}/postgres"


@pytest.mark.parametrize("kind", [LocalPostgres, LocalMosquitto])
def test_start_on_a_port_in_use_fails_with_the_log(
    tmp_path: Path, kind: type[LocalPostgres | LocalMosquitto]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = kind(tmp_path / "server", port=taken.getsockname()[1])

        with pytest.raises(LocalServerError, match="already in use"):
            server.start()
    assert not server.is_running


SERVE_AND_DIE = """
import os, sys
from devtools.localservers import LocalMosquitto, LocalPostgres
pg = LocalPostgres(sys.argv[1] + "/pg", fsync=False).start()
mq = LocalMosquitto(sys.argv[1] + "/mq").start()
print(pg.pid, mq.pid, flush=True)
os.kill(os.getpid(), 9)
"""


def test_servers_stop_when_their_owner_is_killed(tmp_path: Path) -> None:
    owner = subprocess.run(
        [sys.executable, "-c", SERVE_AND_DIE, str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert owner.returncode == -9, owner.stderr
    pids = [int(p) for p in owner.stdout.split()]
    assert len(pids) == 2

    wait_until(lambda: not any(alive(pid) for pid in pids), timeout=30)


class Subscriber:
    """A QoS 1 subscriber with a persistent MQTT 5 session, like ingest's."""

    def __init__(self, url: str, client_id: str, topic: str) -> None:
        self.received: list[bytes] = []
        self._lock = threading.Lock()
        port = int(url.rsplit(":", 1)[1])
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", port, clean_start=False, properties=props)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append(msg.payload)

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_mosquitto_keeps_a_large_offline_queue_across_a_clean_restart(tmp_path: Path) -> None:
    """More than Mosquitto's default 1000 queued messages, and through a restart."""
    total = 2500
    topic = f"t{uuid.uuid4().hex[:8]}/queue"
    with LocalMosquitto(tmp_path / "mq") as broker:
        subscriber = Subscriber(broker.url, "queue-test", topic)
        wait_until(subscriber.client.is_connected)
        subscriber.close()  # offline from here: the broker queues for the session

        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="queue-pub")
        publisher.connect("127.0.0.1", broker.port)
        publisher.loop_start()
        infos = [publisher.publish(topic, str(n).encode(), qos=1) for n in range(total)]
        for info in infos:
            info.wait_for_publish(timeout=30)
        publisher.disconnect()
        publisher.loop_stop()

        broker.restart()

        subscriber = Subscriber(broker.url, "queue-test", topic)
        try:
            wait_until(lambda: subscriber.count() >= total, timeout=30)
        finally:
            subscriber.close()
    assert sorted(int(p) for p in subscriber.received) == list(range(total))


def test_mosquitto_starts_again_on_the_same_port_after_kill(tmp_path: Path) -> None:
    port = free_port()
    with LocalMosquitto(tmp_path / "mq", port=port) as broker:
        first = broker.pid
        broker.kill()
        assert not broker.is_running

        broker.start()

        assert broker.is_running and broker.pid != first
        assert broker.url == f"mqtt://127.0.0.1:{port}"
