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

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

from api.health import check_broker
from core.broker_auth import (
    API_READY_CLIENT,
    BrokerAuthError,
    DynsecAdmin,
    device_role_acls,
    downlink_topic,
    ingest_lane_client_id,
    service_client_id,
)
from core.broker_setup import BrokerSetupSettings, setup
from core.errors import ConfigurationError
from devtools.localservers import LocalMosquitto
from tests.support import count, ingest_settings, register_devices, running_ingest, wait_until

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

    def __init__(
        self,
        broker: LocalMosquitto,
        username: str | None,
        password: str | None,
        *,
        client_id: str | None = None,
        clean_start: bool = True,
    ) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        # Devices are bound to their own id: by default a client connects as its user name.
        name = (username or "") if client_id is None else client_id
        self.mqtt = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        if username is not None:
            self.mqtt.username_pw_set(username, password)
        self.mqtt.on_connect = lambda c, u, f, rc, p: self.events.put(("connack", rc))
        self.mqtt.on_subscribe = lambda c, u, mid, rcs, p: self.events.put(("suback", rcs[0]))
        self.mqtt.on_disconnect = lambda c, u, f, rc, p: self.events.put(("disconnect", rc))
        self.mqtt.on_message = lambda c, u, m: self.messages.put(m)
        self.mqtt.reconnect_delay_set(60, 60)  # a refused client must not come back by itself
        self.mqtt.connect(broker.host, broker.port, clean_start=clean_start)
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
    client = Client(secure_broker, None, None, client_id="anonymous-1")
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
        broker_api_password="api-pw", topic_prefix=PREFIX, mqtt_client_suffix="k3x9",
        broker_ingest_workers=("smokewatch-ingest-0",),
    )  # fmt: skip
    accounts = ["smokewatch-ingest-0-events-k3x9", "smokewatch-ingest-0-telemetry-k3x9",
                "smokewatch-ingest-0-codecs-k3x9", "smokewatch-ingest-0-commands-k3x9",
                "smokewatch-api-ready-k3x9"]  # fmt: skip
    assert setup(settings) == accounts
    rotated = settings.model_copy(update={"broker_ingest_password": SecretStr("second")})
    assert setup(rotated) == accounts
    lane = "smokewatch-ingest-0-telemetry-k3x9"
    old = Client(secure_broker, lane, "first")
    new = Client(secure_broker, lane, "second")
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


def test_refuse_sim_account_in_production(secure_broker: LocalMosquitto) -> None:
    settings = BrokerSetupSettings(
        broker_admin_url=admin_url(secure_broker), broker_sim_password="sim",
        environment="production",
    )  # fmt: skip
    with pytest.raises(ConfigurationError):
        setup(settings)


# Issue 15, item 1: a device that connected with ingest's client id and clean_start=false was
# handed ingest's persistent session and swallowed other devices' alarms.
OWNERS = {"NZ-B": ("NZ-B", "b-secret"), "ingest": ("ingest", "ingest-pw"),
          "NZ-A": ("NZ-A", "a-secret")}  # fmt: skip


@pytest.mark.parametrize(
    ("account", "password", "client_id"),
    [
        ("NZ-A", "a-secret", "NZ-B"),  # another device's id: would disconnect it
        ("NZ-A", "a-secret", "ingest"),  # a service's id: would take its session over
        ("ingest", "ingest-pw", "NZ-A"),  # a service account is bound too
    ],
)
def test_refuse_client_id_of_another_account(
    secure_broker: LocalMosquitto, account: str, password: str, client_id: str
) -> None:
    owner = Client(secure_broker, *OWNERS[client_id], clean_start=False)
    intruder = Client(secure_broker, account, password, client_id=client_id, clean_start=False)
    try:
        assert not owner.connack.is_failure
        assert intruder.connack.is_failure
        assert intruder.connack.getName() == "Not authorized"
        # The owner is still connected and served: nothing was taken over.
        assert owner.events.empty()
        owner.publish(f"{PREFIX}/{client_id}/status", b"online")
    finally:
        owner.close()
        intruder.close()


def test_refuse_device_without_client_id(secure_broker: LocalMosquitto) -> None:
    # Mosquitto would assign one, and the binding is not checked then: the config refuses it.
    device = Client(secure_broker, "NZ-A", "a-secret", client_id="")
    try:
        assert device.connack.is_failure
    finally:
        device.close()


def test_bind_devices_of_earlier_versions(secure_broker: LocalMosquitto) -> None:
    with DynsecAdmin(admin_url(secure_broker)) as admin:
        admin.ensure_role("device-NZ-OLD", device_role_acls(PREFIX, "NZ-OLD"))
        # An account as earlier versions created it: no client id.
        admin.command("createClient", username="NZ-OLD", password="old",
                      roles=[{"rolename": "device-NZ-OLD"}])  # fmt: skip
    loose = Client(secure_broker, "NZ-OLD", "old", client_id="NZ-A-stolen")
    loose.close()
    assert not loose.connack.is_failure  # the hole this setup closes
    setup(BrokerSetupSettings(broker_admin_url=admin_url(secure_broker), topic_prefix=PREFIX))
    bound = Client(secure_broker, "NZ-OLD", "old", client_id="NZ-A-stolen")
    own = Client(secure_broker, "NZ-OLD", "old")
    try:
        assert bound.connack.is_failure
        assert not own.connack.is_failure
    finally:
        bound.close()
        own.close()


def test_hijack_attempt_keeps_ingest_session_and_alarms(
    secure_broker: LocalMosquitto, database_url: str
) -> None:
    suffix = uuid.uuid4().hex[:12]
    worker = "smokewatch-ingest-h"
    setup(BrokerSetupSettings(
        broker_admin_url=admin_url(secure_broker), broker_ingest_password="lane-pw",
        topic_prefix=PREFIX, mqtt_client_suffix=suffix, broker_ingest_workers=(worker,),
    ))  # fmt: skip
    register_devices(database_url, ["NZ-A", "NZ-B"])
    settings = ingest_settings(
        database_url, f"mqtt://unused:lane-pw@{secure_broker.host}:{secure_broker.port}", PREFIX,
        ingest_client_id=worker, mqtt_client_suffix=suffix, mqtt_account_per_client=True,
        ingest_codecs=(),
    )  # fmt: skip
    events_lane = ingest_lane_client_id(worker, "events", suffix)
    with running_ingest(settings) as service:
        lane = next(lane for lane in service.lanes if lane.name == "events")
        drops = []
        lane._client.on_disconnect = lambda *args: drops.append(args)  # observe, keep going
        victim = Client(secure_broker, "NZ-B", "b-secret")
        attempts = []
        for seq in range(1, 6):  # alarms published while the takeover is tried again and again
            attempts.append(Client(secure_broker, "NZ-A", "a-secret", client_id=events_lane,
                                   clean_start=False))  # fmt: skip
            victim.publish(f"{PREFIX}/NZ-B/event", orjson.dumps({"type": "alarm", "seq": seq}))
        try:
            assert all(a.connack.getName() == "Not authorized" for a in attempts)
            alarms = "SELECT count(*) FROM events WHERE device_id = 'NZ-B' AND type = 'alarm'"
            wait_until(lambda: count(database_url, alarms) == 5)
            assert drops == [] and lane.connected
            assert count(database_url, "SELECT count(*) FROM dead_letters") == 0
        finally:
            victim.close()
            for attempt in attempts:
                attempt.close()
    log = secure_broker.log_path.read_text(encoding="utf-8", errors="replace")
    assert f"Client {events_lane} already connected" not in log


def test_refuse_device_named_like_a_service(secure_broker: LocalMosquitto) -> None:
    with DynsecAdmin(admin_url(secure_broker)) as admin, pytest.raises(BrokerAuthError):
        admin.register_device("smokewatch-ingest-0-events", "pw", prefix=PREFIX)
    service = Client(secure_broker, "ingest", "ingest-pw")  # untouched
    try:
        assert not service.connack.is_failure
    finally:
        service.close()


def test_api_readiness_probe_logs_in_with_its_bound_account(secure_broker: LocalMosquitto) -> None:
    setup(BrokerSetupSettings(broker_admin_url=admin_url(secure_broker), topic_prefix=PREFIX,
                              broker_api_password="api-pw", mqtt_client_suffix="r4nd"))  # fmt: skip
    settings = BrokerSetupSettings(
        mqtt_url=f"mqtt://smokewatch-api:api-pw@{secure_broker.host}:{secure_broker.port}",
        mqtt_client_suffix="r4nd", mqtt_account_per_client=True,
    )  # fmt: skip
    probe = service_client_id(API_READY_CLIENT, settings.mqtt_client_suffix)
    assert check_broker(settings.mqtt_for(probe), client_id=probe, timeout=15) == "ok"
    other = "smokewatch-api-ready-guess"
    assert check_broker(settings.mqtt_for(probe), client_id=other, timeout=15).startswith("error")
