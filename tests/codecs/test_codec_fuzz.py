"""Property-based: no input makes a codec raise anything but DecodeError."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
from typing import Any

from codec_support import NOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.codecs import lora_payloads as lp
from core.codecs.registry import CodecConfig, default_registry
from core.codecs.types import Message
from core.domain import EventType
from core.errors import DecodeError

REGISTRY = default_registry(CodecConfig(onenet_token="token"))
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
KEYS = [
    "smoke",
    "Smoke",
    "tamper",
    "battery",
    "battery_low",
    "battery_state",
    "smoke_state",
    "test",
    "fault",
    "voltage",
    "temperature",
    "last_seen",
    "reliability",
    "silence",
    "messageType",
    "deviceId",
    "payload",
    "APPdata",
    "eventType",
    "eventContent",
    "upPacketSN",
    "timestamp",
    "msg",
    "nonce",
    "signature",
    "msg_signature",
    "object",
    "objectJSON",
    "data",
    "fPort",
    "deviceInfo",
    "devEui",
    "devEUI",
    "time",
    "rxInfo",
    "batteryLevel",
    "externalPowerSource",
    "params",
    "notifyType",
    "dev_id",
    "ds_id",
    "type",
    "value",
    "at",
    "Volt",
    "FireAlarm",
    "event",
    "productId",
    "deviceName",
]
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=6),
    ),
    max_leaves=20,
)
TOPICS = st.sampled_from(
    [
        "zigbee2mqtt/kitchen",
        "zigbee2mqtt/a/b/availability",
        "zigbee2mqtt/bridge/state",
        "application/1/device/0101010101010101/event/up",
        "application/1/device/0101010101010101/event/status",
        "application/1/device/0101010101010101/event/join",
        "application/1/device/zz/event/up",
    ]
) | st.text(max_size=40)
states = st.dictionaries(st.text(max_size=20), json_values, max_size=3)


def dumps(value: Any) -> bytes:
    """Any JSON text, including numbers beyond 64 bits and NaN, as a sender might produce."""
    return json.dumps(value).encode()


def _call(
    codec_name: str | None,
    topic: str | None,
    body: bytes,
    state: Any,
    *,
    method: str = "POST",
    query: dict[str, str] | None = None,
) -> None:
    message = Message(body, NOW, topic, method, query or {})
    try:
        codec = REGISTRY.for_topic(topic) if codec_name is None else REGISTRY.get(codec_name)
        ids = codec.identify(message)
        codec.decode(message, {i: state for i in ids})
    except DecodeError:
        pass


@FAST
@given(topic=TOPICS, body=st.binary(max_size=300), state=json_values)
def test_mqtt_codecs_raw_bytes(topic: str, body: bytes, state: Any) -> None:
    _call(None, topic, body, state)


@FAST
@given(topic=TOPICS, value=json_values, state=json_values)
def test_mqtt_codecs_json(topic: str, value: Any, state: Any) -> None:
    _call(None, topic, dumps(value), state)


@FAST
@given(
    name=st.sampled_from(["ctwing", "onenet"]),
    value=json_values,
    state=json_values,
)
def test_http_codecs_json(name: str, value: Any, state: Any) -> None:
    _call(name, None, dumps(value), state)


@FAST
@given(
    name=st.sampled_from(["ctwing", "onenet"]),
    body=st.binary(max_size=300),
    query=st.dictionaries(st.sampled_from(["msg", "nonce", "signature"]), st.text(max_size=12)),
    method=st.sampled_from(["GET", "POST"]),
)
def test_http_codecs_bytes_and_queries(
    name: str, body: bytes, query: dict[str, str], method: str
) -> None:
    _call(name, None, body, None, method=method, query=query)


@FAST
@given(inner=json_values, data=st.binary(max_size=16), fport=st.integers(-5, 300))
def test_structured_bodies(inner: Any, data: bytes, fport: int) -> None:
    # Shaped like the real thing so the fuzzing reaches past the envelope checks.
    up = {
        "deviceInfo": {"devEui": "0101010101010101"},
        "fPort": fport,
        "data": base64.b64encode(data).decode(),
        "object": inner,
    }
    _call(None, "application/1/device/0101010101010101/event/up", dumps(up), inner)
    ct = {"messageType": "dataReport", "deviceId": "d1", "payload": inner, "upPacketSN": inner}
    _call("ctwing", None, dumps(ct), None)
    ev = {"messageType": "eventReport", "deviceId": "d1", "eventType": 2, "eventContent": inner}
    _call("ctwing", None, dumps(ev), None)
    msg = json.dumps(
        {
            "messageType": "notify",
            "productId": "p",
            "deviceName": "d",
            "notifyType": "event",
            "data": {"params": inner},
        }
    )
    _call("onenet", None, dumps({"msg": msg, "nonce": "abcdefgh", "signature": ""}), None)
    from core.codecs.onenet import signature

    signed = {"msg": msg, "nonce": "abcdefgh", "signature": signature("token", "abcdefgh", msg)}
    _call("onenet", None, dumps(signed), inner)


@FAST
@given(data=st.binary(max_size=24), fport=st.one_of(st.none(), st.integers(0, 255)))
def test_payload_decoders(data: bytes, fport: int | None) -> None:
    for decode in (lambda: lp.decode_gs524n(data), lambda: lp.decode_ra02a(fport, data)):
        with contextlib.suppress(DecodeError):
            decode()


@FAST
@given(smokes=st.lists(st.one_of(st.none(), st.booleans()), max_size=12))
def test_zigbee2mqtt_alarms_match_rising_edges(smokes: list[bool | None]) -> None:
    # One alarm per rising edge of "smoke" (unknown at first counts as not alarming), one clear
    # per falling edge from a known alarm; messages without "smoke" change nothing.
    codec = REGISTRY.get("zigbee2mqtt")
    states: dict[str, Any] = {}
    alarms = clears = 0
    for smoke in smokes:
        body = b"{}" if smoke is None else json.dumps({"smoke": smoke}).encode()
        message = Message(body, NOW, "zigbee2mqtt/hall")
        result = codec.decode(message, states)
        states.update(result.states)
        kinds = [getattr(r, "type", None) for r in result.records]
        alarms += kinds.count(EventType.ALARM)
        clears += kinds.count(EventType.ALARM_CLEARED)
    known = [s for s in smokes if s is not None]
    edges = sum(
        1 for before, now in zip([False, *known], known, strict=False) if now and not before
    )
    falls = sum(1 for before, now in itertools.pairwise(known) if before and not now)
    assert (alarms, clears) == (edges, falls)


HA_CONFIG_TOPICS = st.sampled_from(
    [
        "homeassistant/binary_sensor/kitchen/smoke/config",
        "homeassistant/sensor/battery/config",
        "homeassistant/device/hall/config",
    ]
)


@FAST
@given(topic=HA_CONFIG_TOPICS, config=json_values)
def test_homeassistant_configs(topic: str, config: Any) -> None:
    # Home Assistant discovery configs of any shape: abbreviated keys, cmps, templates.
    _call(None, topic, dumps(config), None)
    if isinstance(config, dict):
        shaped = {"stat_t": "~/state", "~": config.get("smoke"), "dev": config, "cmps": config,
                  "val_tpl": config.get("Smoke"), "dev_cla": config.get("test")}  # fmt: skip
        _call(None, topic, dumps(shaped), None)


@FAST
@given(body=st.binary(max_size=64), entities=json_values, battery=json_values)
def test_homeassistant_state_with_any_profile(body: bytes, entities: Any, battery: Any) -> None:
    # The entities ingest lends come from the database, but a codec must never trust them.
    state = {"profile": {"entities": entities, "battery": battery}, "flags": battery}
    codec = REGISTRY.get("homeassistant")
    message = Message(body, NOW, "kitchen/binary_sensor/smoke/state")
    with contextlib.suppress(DecodeError):
        codec.decode(message, {"kitchen/binary_sensor/smoke/state": state})
