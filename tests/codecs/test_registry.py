"""The codec registry, identity binding, and the shared quirk helpers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from codec_support import NOW

from core.codecs import common
from core.codecs.registry import CodecConfig, bind, default_registry, run_codec
from core.codecs.types import Message
from core.domain import DEVICE_ID_PATTERN, EventType
from core.errors import DecodeError
from core.records import Event, Reading

REGISTRY = default_registry(CodecConfig(onenet_token="t"))
MIGRATION = Path(__file__).parents[2] / "core" / "migrations" / "0030_device_models.sql"


def test_registry_names_and_transports() -> None:
    assert REGISTRY.names() == ("zigbee2mqtt", "chirpstack", "ctwing", "onenet", "homeassistant")
    assert {REGISTRY.get(n).transport for n in ("ctwing", "onenet")} == {"http"}
    assert REGISTRY.mqtt_filters() == (
        "zigbee2mqtt/#",
        "application/+/device/+/event/+",
        "homeassistant/+/+/config",
        "homeassistant/+/+/+/config",
        "+/binary_sensor/+/state",
        "+/sensor/+/state",
    )
    # Home Assistant comes last: its broad state filters never take another format's topic.
    assert REGISTRY.for_topic("zigbee2mqtt/x/binary_sensor/y").name == "zigbee2mqtt"


@pytest.mark.parametrize(
    ("topic", "name"),
    [
        ("zigbee2mqtt/kitchen", "zigbee2mqtt"),
        ("application/1/device/0101010101010101/event/up", "chirpstack"),
    ],
)
def test_registry_routes_topics(topic: str, name: str) -> None:
    assert REGISTRY.for_topic(topic).name == name


def test_registry_unknown_lookups_are_decode_errors() -> None:
    with pytest.raises(DecodeError):
        REGISTRY.get("nope")
    with pytest.raises(DecodeError):
        REGISTRY.for_topic("smokewatch/v1/NZ-1/event")


def test_bind_replaces_external_ids_and_drops_unregistered() -> None:
    codec = REGISTRY.get("zigbee2mqtt")
    message = Message(b'{"smoke":true,"battery":50}', NOW, "zigbee2mqtt/hall/smoke")
    result = codec.decode(message, {})
    (event,) = bind(result.records, {"hall/smoke": "NZ-H0001"})
    assert isinstance(event, Event)
    assert event.device_id == "NZ-H0001"
    assert event.telemetry is not None and event.telemetry.device_id == "NZ-H0001"
    assert bind(result.records, {}) == ()


def test_migration_models_name_registered_codecs() -> None:
    # Every model the migration inserts speaks a codec the registry knows, with a valid code.
    sql = MIGRATION.read_text()
    rows = re.findall(r"\('([^']+)', '([^']+)', '([^']+)', '([^']+)', interval '([^']+)'", sql)
    assert len(rows) >= 10
    for code, _vendor, _name, codec, period in rows:
        assert DEVICE_ID_PATTERN.match(code)
        assert codec in REGISTRY.names()
        assert re.fullmatch(r"\d+ (minutes|hours)", period)


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        (True, True),
        (0, False),
        (2, True),
        ("ON", True),
        ("alarm", True),
        ("normal", False),
        ("Nok", None),
        (None, None),
        (float("nan"), None),
        ([], None),
    ],
)
def test_as_flag(value: object, flag: bool | None) -> None:
    assert common.as_flag(value) is flag


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("85", 85.0),
        (" 3.1 ", 3.1),
        ("2.6(low battery)", 2.6),
        (True, None),
        ("x", None),
        ("inf", None),
        (7, 7.0),
    ],
)
def test_as_number(value: object, number: float | None) -> None:
    assert common.as_number(value) == number


def test_transitions_rules() -> None:
    t = common.transitions({}, {"alarm": False, "battery_low": True})
    assert t.events == (EventType.LOW_BATTERY,)
    t = common.transitions({"alarm": True}, {"alarm": True}, forced={"alarm"})
    assert t.events == (EventType.ALARM,)
    t = common.transitions({"alarm": True}, {"alarm": True, "test": True}, forced={"alarm"})
    assert t.events == (EventType.TEST,)
    assert t.flags["alarm"] is True  # a test does not clear a running alarm


def test_reading_keeps_raw_without_events() -> None:
    (record,) = common.build_records(
        external_id="x",
        source="s",
        ts=NOW,
        received_at=NOW,
        msg_key=1,
        events=(),
        telemetry=common.Telemetry(),
        raw={"a": 1},
    )
    assert isinstance(record, Reading)
    assert record.extra == {"raw": {"a": 1}}


def test_run_codec_loads_state_and_binds() -> None:
    store: dict[str, dict] = {"hall/smoke": {"flags": {"alarm": True}}}
    calls: list[tuple[str, tuple[str, ...]]] = []

    def load_states(codec: str, ids: Sequence[str]) -> dict[str, dict]:
        calls.append((codec, tuple(ids)))
        return {i: store[i] for i in ids if i in store}

    def lookup(codec: str, ids: Sequence[str]) -> dict[str, str]:
        return {"hall/smoke": "NZ-H0001"} if codec == "zigbee2mqtt" else {}

    codec = REGISTRY.for_topic("zigbee2mqtt/hall/smoke")
    message = Message(b'{"smoke":false}', NOW, "zigbee2mqtt/hall/smoke")
    outcome = run_codec(codec, message, load_states=load_states, lookup_devices=lookup)
    assert calls == [("zigbee2mqtt", ("hall/smoke",))]
    (event,) = outcome.records
    assert isinstance(event, Event)
    assert (event.type, event.device_id) == (EventType.ALARM_CLEARED, "NZ-H0001")
    assert outcome.unregistered == ()
    assert outcome.decoded.states == {"hall/smoke": {"flags": {"alarm": False}}}

    stranger = Message(b'{"smoke":true}', NOW, "zigbee2mqtt/unknown")
    outcome = run_codec(codec, stranger, load_states=load_states, lookup_devices=lookup)
    assert outcome.records == ()
    assert outcome.unregistered == ("unknown",)


@pytest.mark.parametrize("text", ["²", "1" * 5000, "١٢٣", " 17 "])
def test_numeric_text_never_raises(text: str) -> None:
    # str.isdigit() is true for digits int() refuses; such text is simply not a number here.
    assert common.sequence_key(text) in (None, 17)
    common.timestamp(text, NOW)
    common.as_number(text)


def test_codec_modules_import_types_never_the_registry() -> None:
    # The registry imports every codec; a codec importing the registry back is a cycle.
    import ast
    from pathlib import Path

    import core.codecs

    folder = Path(core.codecs.__file__).parent
    for path in sorted(folder.glob("*.py")):
        if path.name == "registry.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "core.codecs.registry" not in imported, path.name
