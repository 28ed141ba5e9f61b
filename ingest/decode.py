"""The one decode step: pick each message's codec, decode the batch, say what to write.

It runs in the writer's transaction for every format. Native messages need nothing but their
bytes; vendor codecs also need the previous state of the devices they name (ingest/vendor.py),
which only a transaction can lock. What comes out is a :class:`DecodedBatch`: records beside
the message each came from, dead letters, and what the codecs noticed besides. The store writes
it and decides nothing about formats.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from core.codecs import native
from core.codecs.registry import CodecRegistry
from core.codecs.types import Announcement, Codec, Message
from core.errors import DecodeError
from core.records import DeadLetter, Event, Reading, Record
from ingest.received import Received
from ingest.vendor import VendorPass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NativeFormat:
    """Our own protocol: topics ``<prefix>/<device_id>/<kind>``, payloads up to ``max_bytes``."""

    prefix: str
    max_bytes: int


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """What one batch says, in arrival order, ready to write; nothing in it is decoded again."""

    events: tuple[tuple[Received, Event], ...] = ()
    # (message, reading, parked if its device is unknown): a message that is a reading is
    # parked when nobody registered the device; an event's telemetry is not (its event is).
    readings: tuple[tuple[Received, Reading, bool], ...] = ()
    dead_letters: tuple[DeadLetter, ...] = ()
    # Identities a codec saw that nobody registered: (message, codec, external id).
    strangers: tuple[tuple[Received, str, str], ...] = ()
    announcements: tuple[tuple[Received, Announcement], ...] = ()
    # Messages a codec recognised as already stored (carrier retries).
    duplicates: int = 0


@dataclass(slots=True)
class Collected:
    """The decode step's working lists; :meth:`done` freezes them into a batch."""

    events: list[tuple[Received, Event]] = field(default_factory=list)
    readings: list[tuple[Received, Reading, bool]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    strangers: list[tuple[Received, str, str]] = field(default_factory=list)
    announcements: list[tuple[Received, Announcement]] = field(default_factory=list)
    duplicates: int = 0

    def records(self, item: Received, records: tuple[Record, ...]) -> None:
        """File what ``item`` decoded to."""
        if not records:
            return
        reading_message = isinstance(records[0], Reading)
        for record in records:
            if isinstance(record, Reading):
                self.readings.append((item, record, reading_message))
            else:
                self.events.append((item, record))
                if record.telemetry is not None:
                    self.readings.append((item, record.telemetry, reading_message))

    def park(self, item: Received, error: DecodeError, device_id: str | None = None) -> None:
        """Keep ``item`` as a dead letter with the reason."""
        self.dead_letters.append(item.dead_letter(error, device_id))

    def done(self) -> DecodedBatch:
        return DecodedBatch(
            tuple(self.events),
            tuple(self.readings),
            tuple(self.dead_letters),
            tuple(self.strangers),
            tuple(self.announcements),
            self.duplicates,
        )


class Decode:
    """Decodes batches for one lane: the native protocol, vendor codecs, or both."""

    def __init__(
        self, *, native: NativeFormat | None = None, registry: CodecRegistry | None = None
    ) -> None:
        if native is None and registry is None:
            raise ValueError("a decode step needs the native format, a codec registry or both")
        self._native = native
        self._registry = registry

    def __call__(self, conn: psycopg.Connection[Any], batch: Sequence[Received]) -> DecodedBatch:
        """Decode ``batch`` inside the caller's transaction (vendor codec state is locked)."""
        out = Collected()
        registry, native_format = self._registry, self._native
        if registry is None:
            assert native_format is not None  # __init__ refuses a step with neither
            # Native lanes: no codec state, so no query; one pass in arrival order.
            for item in batch:
                _decode_native(item, native_format, out)
            return out.done()
        vendor = VendorPass(conn)
        planned = [(item, self._plan(item, registry, vendor)) for item in batch]
        vendor.lock()
        for item, plan in planned:
            if isinstance(plan, DecodeError):
                out.park(item, plan)
            elif isinstance(plan, NativeFormat):
                _decode_native(item, plan, out)
            else:
                vendor.decode(item, *plan, out)
        vendor.save()
        return out.done()

    def _plan(
        self, item: Received, registry: CodecRegistry, vendor: VendorPass
    ) -> NativeFormat | tuple[Codec, Message] | DecodeError:
        """The format of ``item``: ours, or a vendor codec with its view of the message."""
        native_format = self._native
        if not item.topic_ok:
            return DecodeError("bad_topic", "topic is not valid UTF-8")
        if (
            native_format is not None
            and item.push is None
            and item.topic.startswith(f"{native_format.prefix}/")
        ):
            return native_format
        try:
            codec = (
                registry.get(item.push.codec)
                if item.push is not None
                else registry.for_topic(item.topic)
            )
        except DecodeError as exc:
            return exc
        except Exception as exc:  # a codec bug must not stop the lane; park the message
            log.exception("picking a codec for %r failed", item.topic[:120])
            return DecodeError("decoder_error", f"internal decoder error: {exc!r}"[:300])
        message = vendor.identify(item, codec)
        return message if isinstance(message, DecodeError) else (codec, message)


def _decode_native(item: Received, fmt: NativeFormat, out: Collected) -> None:
    """Decode one message of our own protocol into ``out`` (or park it)."""
    try:
        if not item.topic_ok:
            raise DecodeError("bad_topic", "topic is not valid UTF-8")
        parsed = native.parse_topic(item.topic, fmt.prefix)
        try:
            record = native.decode(parsed, item.payload, item.received_at, max_bytes=fmt.max_bytes)
        except DecodeError as exc:
            out.park(item, exc, parsed.device_id)
            return
    except DecodeError as exc:
        out.park(item, exc)
    except Exception as exc:  # a decoder bug must not stop the lane; park the message
        log.exception("native decoder failed on %r", item.topic[:120])
        out.park(item, DecodeError("decoder_error", f"internal decoder error: {exc!r}"[:300]))
    else:
        out.records(item, (record,))
