"""Decoders the ingest lanes use, keyed by the topic trees they subscribe to."""

from __future__ import annotations

from datetime import datetime

from core.codecs import native
from core.errors import DecodeError
from ingest.inbound import Decoder, Record


def native_decoder(prefix: str, max_bytes: int) -> Decoder:
    """Decode the native protocol under ``prefix``; errors name the device when the topic does."""

    def decode(topic: str, payload: bytes, received_at: datetime) -> tuple[Record, ...]:
        parsed = native.parse_topic(topic, prefix)
        try:
            return (native.decode(parsed, payload, received_at, max_bytes=max_bytes),)
        except DecodeError as exc:
            exc.device_id = parsed.device_id
            raise

    return decode
