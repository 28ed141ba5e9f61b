"""Simulated devices obey commands and answer them (docs/protocol.md section 12).

:class:`NativeResponder` plays native detectors: it subscribes to ``<prefix>/+/downlink``,
carries out each command once per id (a resend gets the same answer again, nothing is done
twice), publishes what the detector would (``silenced``, ``test``, ``online`` after a reset)
and then the acknowledgement on ``<prefix>/<device_id>/ack``. Devices listed in ``ignore``
never answer (a detector that is out of reach).

:class:`Zigbee2MqttResponder` and :class:`ChirpStackResponder` play the gateway side of the
vendor transports: zigbee2mqtt publishing the device's new state after a ``/set``, ChirpStack
publishing the ``ack`` event of a confirmed downlink.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core.config import MqttEndpoint
from device_sim.detector import Detector
from device_sim.protocol import OutMessage

log = logging.getLogger(__name__)


class _Responder:
    """One MQTT connection (paho's own thread) subscribed to ``topic_filter``."""

    def __init__(self, endpoint: MqttEndpoint, topic_filter: str, *, name: str) -> None:
        self._filter = topic_filter
        self._subscribed = threading.Event()
        self.received: list[tuple[str, bytes]] = []
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"sim-{name}-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        if endpoint.username:
            client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls:
            client.tls_set()
        client.on_connect = lambda c, u, f, rc, p: c.subscribe(self._filter, qos=1)
        client.on_subscribe = lambda c, u, mid, rcs, p: self._subscribed.set()
        client.on_message = self._on_message
        self._client = client
        self._endpoint = endpoint

    def start(self, timeout: float = 10.0) -> None:
        """Connect and wait until the broker granted the subscription."""
        self._client.connect(self._endpoint.host, self._endpoint.port)
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            raise TimeoutError("the broker did not grant the subscription")

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> _Responder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=1, retain=retain)

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        payload = bytes(msg.payload)
        self.received.append((msg.topic, payload))
        try:
            self.handle(msg.topic, payload)
        except Exception:
            log.exception("sim: could not handle %s %r", msg.topic, msg.payload[:120])

    def handle(self, topic: str, payload: bytes) -> None:
        raise NotImplementedError


class NativeResponder(_Responder):
    """Native detectors that obey downlink commands and acknowledge them."""

    def __init__(
        self,
        endpoint: MqttEndpoint,
        prefix: str,
        detectors: Iterable[Detector],
        *,
        ignore: Iterable[str] = (),
    ) -> None:
        super().__init__(endpoint, f"{prefix}/+/downlink", name="commands")
        self.prefix = prefix
        self.detectors = {d.device_id: d for d in detectors}
        self.ignore = set(ignore)
        self.done: dict[tuple[str, int], str] = {}  # (device, command id) -> result
        self.executed: list[tuple[str, int, str]] = []  # what was carried out, once each

    def handle(self, topic: str, payload: bytes) -> None:
        device_id = topic[len(self.prefix) + 1 :].split("/", maxsplit=1)[0]
        det = self.detectors.get(device_id)
        if det is None or device_id in self.ignore:
            return
        body = orjson.loads(payload)
        command_id = body["id"]
        key = (device_id, command_id)
        if key not in self.done:  # a resend of a command already carried out: answer again
            self.done[key] = self._obey(det, body)
        self._ack(det, command_id, self.done[key])

    def _obey(self, det: Detector, body: dict[str, Any]) -> str:
        now = datetime.now(UTC)
        expires = body.get("expires_at")
        if expires and datetime.fromisoformat(expires) < now:
            return "rejected"
        kind, params = body.get("command"), body.get("params") or {}
        if kind == "silence":
            det.silenced_until = now + timedelta(seconds=int(params.get("duration_s", 600)))
            self._send(det.event("silenced", now, remote=True))
        elif kind == "self_test":
            self._send(det.event("test", now, remote=True))
        elif kind == "set_heartbeat":
            det.heartbeat_s = int(params["interval_s"])
        elif kind == "reset":
            det.reboot()
            self._send(det.status("online"))
        else:
            return "unsupported"
        self.executed.append((det.device_id, body["id"], kind))
        return "ok"

    def _ack(self, det: Detector, command_id: int, result: str) -> None:
        ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = {"id": command_id, "result": result, "ts": ts}
        self.publish(f"{self.prefix}/{det.device_id}/ack", orjson.dumps(body))

    def _send(self, message: OutMessage) -> None:
        self.publish(message.topic, message.payload, retain=message.retain)


# What zigbee2mqtt reports after a /set, per written property (the device's new state as the
# converters publish it; see core/commands/model.py for the sources).
_Z2M_EFFECT = {
    ("buzzer", "mute"): {"buzzer_manual_mute": True},
    ("selftest", "selftest"): {"test": True},
    ("selftest", ""): {"test": True},
    ("silence", True): {"silence": True},
}


class Zigbee2MqttResponder(_Responder):
    """A zigbee2mqtt bridge whose devices take the written property and report the effect."""

    def __init__(self, endpoint: MqttEndpoint, base: str, *, ignore: Iterable[str] = ()) -> None:
        super().__init__(endpoint, f"{base}/+/set", name="z2m")
        self.base = base
        self.ignore = set(ignore)

    def handle(self, topic: str, payload: bytes) -> None:
        name = topic[len(self.base) + 1 : -len("/set")]
        if name in self.ignore:
            return
        state: dict[str, Any] = {"battery": 90, "linkquality": 120}
        for key, value in orjson.loads(payload).items():
            state |= _Z2M_EFFECT.get((key, value), {})
        self.publish(f"{self.base}/{name}", orjson.dumps(state))


class ChirpStackResponder(_Responder):
    """A ChirpStack network server that delivers confirmed downlinks and reports the ack."""

    def __init__(self, endpoint: MqttEndpoint, prefix: str, *, ignore: Iterable[str] = ()) -> None:
        super().__init__(endpoint, f"{prefix}/+/device/+/command/down", name="chirpstack")
        self.prefix = prefix
        self.ignore = set(ignore)
        self.f_cnt_down = 0

    def handle(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        app, dev_eui = parts[-4], parts[-3]
        body = orjson.loads(payload)
        if dev_eui in self.ignore or not body.get("confirmed"):
            return
        self.f_cnt_down += 1
        ack = {
            "deduplicationId": str(uuid.uuid4()),
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "deviceInfo": {"applicationId": app, "devEui": body["devEui"]},
            "queueItemId": str(uuid.uuid4()),
            "acknowledged": True,
            "fCntDown": self.f_cnt_down,
        }
        self.publish(f"{self.prefix}/{app}/device/{dev_eui}/event/ack", orjson.dumps(ack))
