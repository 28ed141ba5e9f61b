"""The production broker configuration: per-device credentials and topic isolation, for real.

A private Mosquitto runs ``deploy/mosquitto/production/mosquitto.conf`` (only paths and the
port rewritten, the TLS listener left out for want of certificates) with the dynamic-security
plugin, and core.broker_auth registers and revokes devices through its control topic.
"""

from __future__ import annotations

import queue
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

from core.broker_auth import BrokerAuthError, DynsecAdmin, downlink_topic
from core.broker_setup import BrokerSetupSettings, setup
from core.localservers import LocalMosquitto

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = ROOT / "deploy" / "mosquitto" / "production" / "mosquitto.conf"
PLUGINS = ("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
           "/usr/lib/mosquitto_dynamic_security.so")  # fmt: skip
PREFIX = "smokewatch/v1"
ADMIN_PASSWORD = uuid.uuid4().hex


def plugin_path() -> str:
    for candidate in PLUGINS:
        if Path(candidate).exists():
            return candidate
    pytest.skip("the Mosquitto dynamic-security plugin is not installed")


def local_template(folder: Path) -> Path:
    """The production file with paths and port made local; every security line kept as is."""
    text = PRODUCTION.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^listener 8883\n.*?^tls_version .*?\n", "", text)
    replacements = {
        "plugin /usr/lib/mosquitto_dynamic_security.so": f"plugin {plugin_path()}",
        "plugin_opt_config_file /mosquitto/data/": "plugin_opt_config_file ${data_dir}/",
        "listener 1883": "listener ${port} 127.0.0.1\nuser ${user}",
        "persistence_location /mosquitto/data/": "persistence_location ${data_dir}/",
        "log_dest stdout": "log_dest file ${log_file}",
    }
    for old, new in replacements.items():
        assert old in text, f"production config no longer has {old!r}"
        text = text.replace(old, new)
    assert "allow_anonymous false" in text
    path = folder / "production.conf.template"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMosquitto]:
    ctrl = shutil.which("mosquitto_ctrl")
    if ctrl is None:
        pytest.skip("mosquitto_ctrl is not installed")
    folder = tmp_path_factory.mktemp("secure-mqtt")
    (folder / "data").mkdir()
    subprocess.run(
        [ctrl, "dynsec", "init", str(folder / "data" / "dynamic-security.json"),
         "admin", ADMIN_PASSWORD],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    broker = LocalMosquitto(folder, template=local_template(folder))
    broker.start()
    with DynsecAdmin(admin_url(broker)) as admin:
        admin.ensure_service_roles(PREFIX)
        admin.create_service_account("ingest", "ingest-pw", "smokewatch-ingest")
        admin.register_device("NZ-A", "a-secret", prefix=PREFIX)
        admin.register_device("NZ-B", "b-secret", prefix=PREFIX)
    yield broker
    broker.stop()


def admin_url(broker: LocalMosquitto) -> str:
    return f"mqtt://admin:{ADMIN_PASSWORD}@{broker.host}:{broker.port}"


class Client:
    """A paho client whose CONNACK, SUBACK, messages and disconnects land in queues."""

    def __init__(self, broker: LocalMosquitto, username: str | None, password: str | None):
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.mqtt = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}",
                                protocol=mqtt.MQTTv5)  # fmt: skip
        if username is not None:
            self.mqtt.username_pw_set(username, password)
        self.mqtt.on_connect = lambda c, u, f, rc, p: self.events.put(("connack", rc))
        self.mqtt.on_subscribe = lambda c, u, mid, rcs, p: self.events.put(("suback", rcs[0]))
        self.mqtt.on_disconnect = lambda c, u, f, rc, p: self.events.put(("disconnect", rc))
        self.mqtt.on_message = lambda c, u, m: self.messages.put(m)
        self.mqtt.connect(broker.host, broker.port)
        self.mqtt.loop_start()
        self.connack = self.next("connack")

    def next(self, kind: str) -> Any:
        for _ in range(10):
            got, value = self.events.get(timeout=15)
            if got == kind:
                return value
        raise AssertionError(f"no {kind}")

    def subscribe(self, topic: str) -> Any:
        self.mqtt.subscribe(topic, qos=1)
        return self.next("suback")

    def publish(self, topic: str, payload: bytes) -> None:
        self.mqtt.publish(topic, payload, qos=1).wait_for_publish(15)

    def close(self) -> None:
        self.mqtt.disconnect()
        self.mqtt.loop_stop()


def test_refuse_anonymous_client(secure_broker: LocalMosquitto) -> None:
    client = Client(secure_broker, None, None)
    try:
        assert client.connack.is_failure
        assert client.connack.getName() == "Not authorized"
    finally:
        client.close()


@pytest.mark.parametrize(("username", "password"), [("NZ-A", "b-secret"), ("NZ-X", "a-secret")])
def test_refuse_wrong_credentials(
    secure_broker: LocalMosquitto, username: str, password: str
) -> None:
    client = Client(secure_broker, username, password)
    try:
        assert client.connack.is_failure
    finally:
        client.close()


def test_device_cannot_publish_as_another_device(secure_broker: LocalMosquitto) -> None:
    ingest = Client(secure_broker, "ingest", "ingest-pw")
    device_a = Client(secure_broker, "NZ-A", "a-secret")
    try:
        assert not ingest.connack.is_failure and not device_a.connack.is_failure
        assert not ingest.subscribe(f"$share/g/{PREFIX}/#").is_failure
        device_a.publish(f"{PREFIX}/NZ-B/event", b'{"type": "alarm"}')  # forged
        device_a.publish(f"{PREFIX}/NZ-A/event", b'{"type": "test"}')  # its own, sent after
        # One connection, QoS 1: the broker forwards in order, so the forged message would
        # arrive before A's own one. The first message is A's own, and nothing else follows it.
        first = ingest.messages.get(timeout=15)
        assert first.topic == f"{PREFIX}/NZ-A/event"
        device_a.publish(f"{PREFIX}/NZ-A/telemetry", b"{}")
        assert ingest.messages.get(timeout=15).topic == f"{PREFIX}/NZ-A/telemetry"
    finally:
        ingest.close()
        device_a.close()


def test_device_subscribes_only_to_its_downlink(secure_broker: LocalMosquitto) -> None:
    device_a = Client(secure_broker, "NZ-A", "a-secret")
    try:
        assert not device_a.subscribe(downlink_topic(PREFIX, "NZ-A")).is_failure
        assert device_a.subscribe(downlink_topic(PREFIX, "NZ-B")).is_failure
        assert device_a.subscribe(f"{PREFIX}/#").is_failure
    finally:
        device_a.close()


def test_revoked_device_is_cut_off(secure_broker: LocalMosquitto) -> None:
    with DynsecAdmin(admin_url(secure_broker)) as admin:
        admin.register_device("NZ-R", "r-secret", prefix=PREFIX)
    device = Client(secure_broker, "NZ-R", "r-secret")
    assert not device.connack.is_failure
    device.mqtt.reconnect_delay_set(60, 60)  # paho must not reconnect during the check
    try:
        with DynsecAdmin(admin_url(secure_broker)) as admin:
            admin.revoke_device("NZ-R")
        device.next("disconnect")  # the broker kicks the connected client
    finally:
        device.close()
    again = Client(secure_broker, "NZ-R", "r-secret")
    try:
        assert again.connack.is_failure
    finally:
        again.close()


def test_refuse_dynsec_admin_with_wrong_password(secure_broker: LocalMosquitto) -> None:
    with pytest.raises(BrokerAuthError):
        DynsecAdmin(f"mqtt://admin:wrong@{secure_broker.host}:{secure_broker.port}").connect()


def test_setup_service_accounts_twice_and_connect(secure_broker: LocalMosquitto) -> None:
    settings = BrokerSetupSettings(
        broker_admin_url=admin_url(secure_broker), broker_ingest_password="first",
        broker_api_password="api-pw", topic_prefix=PREFIX,
    )  # fmt: skip
    assert setup(settings) == ["smokewatch-ingest", "smokewatch-api"]
    rotated = settings.model_copy(update={"broker_ingest_password": SecretStr("second")})
    assert setup(rotated) == ["smokewatch-ingest", "smokewatch-api"]
    old = Client(secure_broker, "smokewatch-ingest", "first")
    new = Client(secure_broker, "smokewatch-ingest", "second")
    try:
        assert old.connack.is_failure
        assert not new.connack.is_failure
        assert not new.subscribe(f"$share/ingest/{PREFIX}/+/telemetry").is_failure
        # The vendor codecs' trees: gateways publish there, not under our prefix.
        assert not new.subscribe("$share/ingest/zigbee2mqtt/#").is_failure
        assert not new.subscribe("application/+/device/+/event/+").is_failure
        assert new.subscribe("other/#").is_failure
    finally:
        old.close()
        new.close()
