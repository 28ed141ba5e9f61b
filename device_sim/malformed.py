"""Bad input a receiver must dead-letter, each with the DecodeError code it must give.

:func:`malformed_messages` covers every rejection rule of core.codecs.native; a table test
holds the two together. :func:`tolerated_messages` are the look-alikes that must be stored.
Two cases (``unknown_topic_kind``, ``too_deep_topic``) sit outside the protocol's topic filters
(:func:`device_sim.protocol.subscriptions`): a conforming receiver never sees them, so they are
marked ``expect="unrouted"``; a receiver subscribed to ``<prefix>/#`` rejects them as
``bad_topic``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
from paho.mqtt.client import topic_matches_sub

from device_sim.protocol import Kind, OutMessage, TsFormat, format_ts, subscriptions, topic

# Above the largest payload ingest can be configured to accept (1 MiB).
HUGE_PAYLOAD_BYTES: Final = 1024 * 1024 + 1

# builder(prefix, device_id, when) -> (topic, payload, device id the topic names or None)
_Builder = Callable[[str, str, datetime], tuple[str, bytes, str | None]]


def _json(fields: dict[str, Any]) -> bytes:
    return orjson.dumps(fields)


def _on(kind: str, payload: Callable[[datetime], bytes]) -> _Builder:
    return lambda prefix, device_id, when: (
        f"{prefix}/{device_id}/{kind}",
        payload(when),
        device_id,
    )


def _topic(make_topic: Callable[[str, str], str], device_id_known: bool = True) -> _Builder:
    def build(prefix: str, device_id: str, when: datetime) -> tuple[str, bytes, str | None]:
        payload = _json({"ts": _ts(when), "seq": 18, "battery": 80})
        return make_topic(prefix, device_id), payload, device_id if device_id_known else None

    return build


def _ts(when: datetime) -> str:
    value = format_ts(when, TsFormat.ISO_UTC)
    assert isinstance(value, str)
    return value


def _huge(when: datetime) -> bytes:
    head = _json({"ts": _ts(when), "seq": 1, "battery": 90})
    padding = HUGE_PAYLOAD_BYTES - len(head) - len(b',"padding":""')
    return head[:-1] + b',"padding":"' + b"x" * padding + b'"}'


# label -> (the DecodeError code core.codecs.native must raise, builder)
_CASES: Final[dict[str, tuple[str, _Builder]]] = {
    "invalid_utf8": ("bad_encoding", _on("telemetry", lambda w: b'{"ts":"\xff\xfe","seq":1}')),
    "invalid_json": ("bad_json", _on("telemetry", lambda w: b'{"ts": 1, "seq": 2,')),
    "empty_payload": ("bad_json", _on("event", lambda w: b"")),
    "nan_literal": ("bad_json", _on("telemetry", lambda w: b'{"seq":3,"temperature":NaN}')),
    "json_array": ("not_an_object", _on("telemetry", lambda w: b"[21.5, 90, -70]")),
    "json_string": ("not_an_object", _on("event", lambda w: b'"alarm"')),
    "json_null": ("not_an_object", _on("event", lambda w: b"null")),
    "event_without_type": ("missing_type", _on("event", lambda w: _json({"ts": _ts(w), "seq": 4}))),
    "event_type_not_text": ("missing_type", _on("event", lambda w: _json({"seq": 5, "type": 7}))),
    "unknown_event_type": (
        "unknown_event_type",
        _on("event", lambda w: _json({"ts": _ts(w), "seq": 6, "type": "explosion"})),
    ),
    "status_type_as_event": (
        "unknown_event_type",
        _on("event", lambda w: _json({"seq": 7, "type": "online"})),
    ),
    "telemetry_text_value": (
        "wrong_type",
        _on("telemetry", lambda w: _json({"ts": _ts(w), "seq": 8, "battery": "high"})),
    ),
    "telemetry_out_of_range": (
        "wrong_type",
        _on("telemetry", lambda w: _json({"ts": _ts(w), "seq": 9, "battery": 140})),
    ),
    "telemetry_boolean": (
        "wrong_type",
        _on("telemetry", lambda w: _json({"seq": 10, "signal": True})),
    ),
    "firmware_too_long": (
        "wrong_type",
        _on("telemetry", lambda w: _json({"seq": 11, "firmware": "v" * 65})),
    ),
    "huge_payload": ("too_large", _on("telemetry", _huge)),
    "ts_not_a_date": (
        "bad_timestamp",
        _on("telemetry", lambda w: _json({"ts": "yesterday", "seq": 12})),
    ),
    "ts_without_offset": (
        "bad_timestamp",
        _on("event", lambda w: _json({"ts": "2026-11-27T08:00:00", "seq": 13, "type": "test"})),
    ),
    "ts_boolean": ("bad_timestamp", _on("telemetry", lambda w: _json({"ts": True, "seq": 14}))),
    "ts_out_of_range": ("bad_timestamp", _on("telemetry", lambda w: b'{"ts":1e300,"seq":15}')),
    "seq_negative": ("bad_seq", _on("telemetry", lambda w: _json({"ts": _ts(w), "seq": -1}))),
    "seq_text": ("bad_seq", _on("telemetry", lambda w: _json({"ts": _ts(w), "seq": "16"}))),
    "seq_fraction": ("bad_seq", _on("telemetry", lambda w: _json({"ts": _ts(w), "seq": 16.5}))),
    "seq_above_int64": (
        "bad_seq",
        _on("telemetry", lambda w: b'{"seq":9223372036854775808,"battery":80}'),
    ),
    "status_unknown_state": ("bad_status", _on("status", lambda w: b"rebooting")),
    "status_empty": ("bad_status", _on("status", lambda w: b"")),
    "status_not_ascii": ("bad_encoding", _on("status", lambda w: "在线".encode())),
    "status_json_bad_state": ("bad_status", _on("status", lambda w: _json({"state": "up"}))),
    "unknown_topic_kind": ("bad_topic", _on("config", lambda w: _json({"seq": 17}))),
    "device_id_bad_start": ("bad_device_id", _topic(lambda p, d: f"{p}/-{d}/telemetry", False)),
    "device_id_too_long": (
        "bad_device_id",
        _topic(lambda p, d: f"{p}/{'D' * 65}/telemetry", False),
    ),
    "too_deep_topic": ("bad_topic", _topic(lambda p, d: f"{p}/{d}/event/extra")),
}


def malformed_messages(prefix: str, device_id: str, *, when: datetime) -> list[OutMessage]:
    """One message per rejection rule, published as ``device_id``; none is retained."""
    return [malformed_message(label, prefix, device_id, when=when) for label in _CASES]


def malformed_message(label: str, prefix: str, device_id: str, *, when: datetime) -> OutMessage:
    """The malformed case called ``label`` (see :func:`malformed_labels`)."""
    code, build = _CASES[label]
    full_topic, payload, named = build(prefix, device_id, when)
    routed = any(topic_matches_sub(f, full_topic) for f in subscriptions(prefix))
    return OutMessage(
        topic=full_topic,
        payload=payload,
        device_id=named,
        kind=None,
        expect="dead_letter" if routed else "unrouted",
        reason_code=code,
        label=label,
    )


def malformed_labels() -> list[str]:
    """Names of the malformed cases, in publishing order."""
    return list(_CASES)


def tolerated_messages(
    prefix: str, device_id: str, *, when: datetime, seq: int = 1000
) -> list[OutMessage]:
    """Messages that look wrong but must be stored (docs/protocol.md, "what is accepted")."""
    future = when + timedelta(hours=3)
    cases: list[tuple[str, Kind, str | None, dict[str, Any]]] = [
        # A fire alarm is never rejected for a bad optional field; the field is set aside.
        ("alarm_with_bad_field", "event", "alarm", {"type": "alarm", "battery": "low"}),
        (
            "unknown_extra_fields",
            "telemetry",
            None,
            {"battery": 77, "humidity": 41, "vendor": {"x": 1}},
        ),
        ("device_clock_ahead", "telemetry", None, {"ts": _ts(future), "battery": 76}),
        ("no_timestamp", "telemetry", None, {"ts": None, "battery": 75}),
    ]
    out = []
    for offset, (label, kind, event_type, fields) in enumerate(cases):
        values = {"ts": _ts(when), "seq": seq + offset} | fields
        values = {k: v for k, v in values.items() if v is not None}
        out.append(
            OutMessage(
                topic=topic(prefix, device_id, kind),
                payload=_json(values),
                device_id=device_id,
                kind=kind,
                event_type=event_type,
                seq=seq + offset,
                label=label,
            )
        )
    return out
