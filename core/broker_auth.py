"""Per-device broker credentials through Mosquitto's dynamic-security plugin.

The registry is the source of truth; this module mirrors it into the broker by publishing
commands on ``$CONTROL/dynamic-security/v1`` as the broker's admin account and reading the
answers on ``.../response``. Every device gets its own client and its own role, so it may publish
only under ``<prefix>/<device id>/`` and subscribe only to ``<prefix>/<device id>/downlink``.
Per-device roles rather than one role with ``%c``/``%u`` patterns: Mosquitto 2.0's plugin
matches ACL topics literally (checked on 2.0.11: an ACL ``p/%u/#`` let a client publish to the
literal ``p/%u/t`` and refused ``p/dev1/t``), so a pattern role would not isolate devices.

    with DynsecAdmin("mqtt://admin:secret@broker:1883") as admin:
        admin.ensure_service_roles("smokewatch/v1")
        admin.register_device("NZ-0001", password, prefix="smokewatch/v1")
        admin.revoke_device("NZ-0001")   # deletes the client: the broker disconnects it at once

Every account is bound to its client id (the plugin's ``clientid``): a device may connect only
as its own device id, a service connection only with the id of its account. Without it, any
device could connect with ingest's client id and ``clean_start=false``, take ingest's persistent
session over and swallow other devices' alarms (issue 15); Mosquitto refuses a bound account's
CONNECT with another id before it looks at sessions, so the owner's session is never touched.
Service accounts are therefore named after their client id, one per connection (the plugin
binds one id per account): ingest's ``<worker>-events``, ``<worker>-telemetry`` and
``<worker>-codecs``, the API's readiness probe.
"""

from __future__ import annotations

import queue
import uuid
from typing import Any, Self

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core.config import parse_mqtt_url
from core.domain import DEVICE_ID_PATTERN
from core.errors import SmokewatchError

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = CONTROL_TOPIC + "/response"
DEVICE_ROLE_PREFIX = "device-"
# Service accounts: what each service may do on the broker, beyond the default of nothing.
SERVICE_ROLES = ("smokewatch-ingest", "smokewatch-sim", "smokewatch-api")
# Every service account's name starts with this; no device may be registered under it.
SERVICE_ACCOUNT_PREFIX = "smokewatch-"
# Ingest opens one MQTT session per lane; each is its own account bound to its own client id.
# "commands": the command dispatcher's session (sends commands, receives the answers).
INGEST_LANES = ("events", "telemetry", "codecs", "commands")
# The API's one broker connection: its readiness probe (an MQTT CONNECT, then DISCONNECT).
API_READY_CLIENT = "smokewatch-api-ready"


class BrokerAuthError(SmokewatchError):
    """The broker refused or did not answer a dynamic-security command."""


def service_client_id(base: str, suffix: str) -> str:
    """A service's client id: its stable name plus the deployment's random suffix, if any.

    The suffix (``SMOKEWATCH_MQTT_CLIENT_SUFFIX``) makes the ids unguessable from outside, a
    second line behind the binding of every account to its client id.
    """
    return f"{base}-{suffix}" if suffix else base


def ingest_lane_client_id(worker: str, lane: str, suffix: str = "") -> str:
    """The client id (and, with bound accounts, the user name) of one ingest lane."""
    if lane not in INGEST_LANES:
        raise BrokerAuthError(f"unknown ingest lane {lane!r}")
    return service_client_id(f"{worker}-{lane}", suffix)


def downlink_topic(prefix: str, device_id: str) -> str:
    """The one topic a device may subscribe to."""
    return f"{prefix}/{device_id}/downlink"


def device_role_acls(prefix: str, device_id: str) -> list[dict[str, Any]]:
    """ACLs of a device's own role: publish under its id, subscribe to its downlink only."""
    own = f"{prefix}/{device_id}"
    return [
        {"acltype": "publishClientSend", "topic": f"{own}/#", "allow": True, "priority": 0},
        {"acltype": "subscribeLiteral", "topic": downlink_topic(prefix, device_id),
         "allow": True, "priority": 0},
        {"acltype": "unsubscribeLiteral", "topic": downlink_topic(prefix, device_id),
         "allow": True, "priority": 0},
    ]  # fmt: skip


def service_role_acls(
    role: str, prefix: str, vendor_filters: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """ACLs of the service roles: ingest reads everything (also shared), sim and api write.

    ``vendor_filters`` are the topic trees of the vendor codecs (zigbee2mqtt, ChirpStack) that
    ingest subscribes to besides our own prefix; gateways publish there, not under the prefix.
    """

    def acl(kind: str, topic: str) -> dict[str, Any]:
        return {"acltype": kind, "topic": topic, "allow": True, "priority": 0}

    everything = f"{prefix}/#"
    if role == "smokewatch-ingest":
        trees = (everything, *vendor_filters)
        topics = [*trees, *(f"$share/+/{tree}" for tree in trees)]
        kinds = ("subscribePattern", "unsubscribePattern")
        reads = [acl(kind, topic) for kind in kinds for topic in topics]
        return reads + [acl("publishClientSend", t) for t in command_topics(prefix, vendor_filters)]
    if role == "smokewatch-sim":  # simulates many devices through one connection
        return [acl("publishClientSend", everything), acl("subscribePattern", everything)]
    if role == "smokewatch-api":  # commissioning watches tests; downlinks go to devices
        return [acl("publishClientSend", f"{prefix}/+/downlink"),
                acl("subscribePattern", everything)]  # fmt: skip
    raise BrokerAuthError(f"unknown service role {role!r}")


def command_topics(prefix: str, vendor_filters: tuple[str, ...]) -> list[str]:
    """Where ingest's command dispatcher publishes (issue 19): native downlinks, zigbee2mqtt
    ``<name>/set`` (inside the tree it reads) and ChirpStack ``command/down``."""
    topics = [f"{prefix}/+/downlink"]
    for tree in vendor_filters:
        if tree.endswith("/event/+"):
            topics.append(tree.removesuffix("event/+") + "command/down")
        elif tree.endswith("/#"):
            topics.append(tree)
    return topics


class DynsecAdmin:
    """A connection as the dynamic-security admin; one command at a time, answers awaited."""

    def __init__(self, admin_url: str, *, timeout: float = 10.0) -> None:
        self.endpoint = parse_mqtt_url(admin_url)
        self.timeout = timeout
        self._answers: queue.Queue[dict[str, Any]] = queue.Queue()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"smokewatch-dynsec-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        if self.endpoint.username:
            self._client.username_pw_set(self.endpoint.username, self.endpoint.password)
        if self.endpoint.tls:
            self._client.tls_set()
        self._client.on_message = self._on_message

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        """Connect and subscribe to the answers; raise if the broker refuses the admin."""
        connected: queue.Queue[Any] = queue.Queue()
        self._client.on_connect = lambda c, u, f, rc, p: connected.put(rc)
        self._client.on_subscribe = lambda c, u, mid, rcs, p: connected.put(rcs[0])
        self._client.connect(self.endpoint.host, self.endpoint.port)
        self._client.loop_start()
        rc = connected.get(timeout=self.timeout)
        if rc.is_failure:
            self.close()
            raise BrokerAuthError(f"the broker refused the dynsec admin: {rc}")
        self._client.subscribe(RESPONSE_TOPIC, qos=1)
        granted = connected.get(timeout=self.timeout)
        if granted.is_failure:
            self.close()
            raise BrokerAuthError(f"the admin may not read {RESPONSE_TOPIC}: {granted}")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        for answer in orjson.loads(message.payload).get("responses", []):
            self._answers.put(answer)

    def command(self, command: str, *, missing_ok: bool = False, **fields: Any) -> dict[str, Any]:
        """Run one command; ``missing_ok`` and "already exists" answers count as success."""
        tag = uuid.uuid4().hex
        body = {"commands": [{"command": command, "correlationData": tag, **fields}]}
        self._client.publish(CONTROL_TOPIC, orjson.dumps(body), qos=1)
        for _ in range(100):  # answers to earlier commands that timed out are skipped
            try:
                answer = self._answers.get(timeout=self.timeout)
            except queue.Empty:
                raise BrokerAuthError(f"no answer to {command} within {self.timeout} s") from None
            if answer.get("correlationData") == tag:
                break
        else:
            raise BrokerAuthError(f"no answer to {command}")
        error = answer.get("error")
        if error and not ("already exists" in error or (missing_ok and "not found" in error)):
            raise BrokerAuthError(f"{command} failed: {error}")
        return answer

    def ensure_role(self, rolename: str, acls: list[dict[str, Any]]) -> None:
        """Create the role, or replace its ACLs if it exists (idempotent)."""
        self.command("createRole", rolename=rolename)
        current = self.command("getRole", rolename=rolename).get("data", {}).get("role", {})
        for old in current.get("acls", []):
            self.command("removeRoleACL", rolename=rolename, acltype=old["acltype"],
                         topic=old["topic"], missing_ok=True)  # fmt: skip
        for acl in acls:
            self.command("addRoleACL", rolename=rolename, **acl)

    def ensure_service_roles(self, prefix: str, vendor_filters: tuple[str, ...] = ()) -> None:
        """Create or update every service role (ingest also reads ``vendor_filters``)."""
        for role in SERVICE_ROLES:
            self.ensure_role(role, service_role_acls(role, prefix, vendor_filters))

    def create_service_account(
        self, username: str, password: str, role: str, *, bind: bool = True
    ) -> None:
        """A service's account with its role, bound to its user name as client id.

        ``bind=False`` only for the simulator (tests and demos), which plays many devices.
        Re-running sets the password and the binding in place; a connected service stays on.
        """
        client_id = username if bind else ""
        created = self.command("createClient", username=username, password=password,
                               clientid=client_id, roles=[{"rolename": role}])  # fmt: skip
        if created.get("error"):  # it exists: update in place, a connected service stays on
            self.command("setClientPassword", username=username, password=password)
            client = self.command("getClient", username=username).get("data", {}).get("client", {})
            if client.get("clientid", "") != client_id:
                self.command("setClientId", username=username, clientid=client_id)
            if role not in {r.get("rolename") for r in client.get("roles", [])}:
                self.command("addClientRole", username=username, rolename=role)

    def bind_devices(self) -> int:
        """Bind every device account still without a client id to its device id; the count.

        Accounts created before the binding existed would otherwise stay open to the takeover.
        """
        listed = self.command("listClients", verbose=True).get("data", {}).get("clients", [])
        bound = 0
        for client in listed:
            username = client.get("username", "")
            roles = {r.get("rolename") for r in client.get("roles", [])}
            if DEVICE_ROLE_PREFIX + username in roles and client.get("clientid") != username:
                self.command("setClientId", username=username, clientid=username)
                bound += 1
        return bound

    def register_device(self, device_id: str, password: str, *, prefix: str) -> None:
        """Create (or re-key) the device's client, bound to its id, and its own role."""
        if not DEVICE_ID_PATTERN.fullmatch(device_id):
            raise BrokerAuthError(f"not a device id: {device_id!r}")
        if device_id.lower().startswith(SERVICE_ACCOUNT_PREFIX):  # would replace a service's
            raise BrokerAuthError(f"device ids may not start with {SERVICE_ACCOUNT_PREFIX}")
        role = DEVICE_ROLE_PREFIX + device_id
        self.ensure_role(role, device_role_acls(prefix, device_id))
        # deleteClient first: a re-registration rotates the password and drops the old session.
        self.command("deleteClient", username=device_id, missing_ok=True)
        # clientid: the device may connect only as itself, never with another's client id.
        self.command("createClient", username=device_id, password=password, clientid=device_id,
                     roles=[{"rolename": role}])  # fmt: skip

    def revoke_device(self, device_id: str) -> None:
        """Delete the device's client (the broker disconnects it at once) and its role."""
        self.command("deleteClient", username=device_id, missing_ok=True)
        self.command("deleteRole", rolename=DEVICE_ROLE_PREFIX + device_id, missing_ok=True)
