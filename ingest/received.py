"""The edge's record: one message as it arrived, frozen before anything reads its payload."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from core.errors import DecodeError
from core.records import DeadLetter


@dataclass(frozen=True, slots=True)
class Push:
    """What an HTTP push adds to its body: the codec its URL named, its method and query."""

    codec: str
    method: str
    query: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Received:
    """One received message: transport facts only; decoding happens later, in one step.

    ``mid`` and ``generation`` identify the MQTT delivery to acknowledge after commit (``qos``
    0, as for HTTP push, means nothing to acknowledge).
    """

    mid: int
    generation: int
    qos: int
    topic: str
    payload: bytes
    received_at: datetime
    received_mono: float
    retained: bool
    # False when the topic was not UTF-8 (then kept with replacement characters, for the letter).
    topic_ok: bool = True
    push: Push | None = None

    @property
    def via(self) -> str:
        """How it arrived, as dead letters name it: ``mqtt`` or ``http``."""
        return "mqtt" if self.push is None else "http"

    def dead_letter(self, error: DecodeError, device_id: str | None = None) -> DeadLetter:
        """This message parked with ``error``; the device is ``device_id`` or the error's."""
        return DeadLetter(
            source=self.via,
            received_at=self.received_at,
            reason_code=error.code,
            reason=str(error),
            payload=self.payload,
            topic=self.topic,
            device_id=device_id or error.device_id,
        )
