"""Every malformed message the simulator sends is rejected by core.codecs.native with its code."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from paho.mqtt.client import topic_matches_sub

from core.codecs import native
from core.errors import DecodeError
from device_sim.malformed import (
    HUGE_PAYLOAD_BYTES,
    malformed_labels,
    malformed_message,
    malformed_messages,
)
from device_sim.protocol import subscriptions

PREFIX = "smokewatch/v1"
NOW = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
# The largest payload ingest may be configured to take (ingest_max_payload_bytes <= 1 MiB).
MAX_BYTES = 1024 * 1024


@pytest.mark.parametrize("label", malformed_labels())
def test_decode_malformed_raises_intended_code(label: str) -> None:
    message = malformed_message(label, PREFIX, "NZ-H0001", when=NOW)
    assert message.expect in ("dead_letter", "unrouted")
    assert message.label == label and not message.retain
    with pytest.raises(DecodeError) as caught:
        topic = native.parse_topic(message.topic, PREFIX)
        native.decode(topic, message.payload, NOW, max_bytes=MAX_BYTES)
    assert caught.value.code == message.reason_code


def test_malformed_catalogue_covers_every_rejection_rule() -> None:
    messages = malformed_messages(PREFIX, "NZ-V0001", when=NOW)
    assert len(messages) >= 20
    assert len({m.label for m in messages}) == len(messages)
    assert {m.reason_code for m in messages} == {
        "bad_topic", "bad_device_id", "too_large", "bad_encoding", "bad_json", "not_an_object",
        "bad_timestamp", "bad_seq", "missing_type", "unknown_event_type", "wrong_type",
        "bad_status",
    }  # fmt: skip
    huge = next(m for m in messages if m.label == "huge_payload")
    assert len(huge.payload) == HUGE_PAYLOAD_BYTES


def test_malformed_outside_protocol_topics_marked_unrouted() -> None:
    messages = malformed_messages(PREFIX, "NZ-H0009", when=NOW)
    filters = subscriptions(PREFIX)
    for message in messages:
        routed = any(topic_matches_sub(f, message.topic) for f in filters)
        assert message.expect == ("dead_letter" if routed else "unrouted")
    unrouted = [m.label for m in messages if m.expect == "unrouted"]
    assert unrouted == ["unknown_topic_kind", "too_deep_topic"]
    assert all(topic_matches_sub(f"{PREFIX}/#", m.topic) for m in messages)
