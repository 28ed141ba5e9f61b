"""The native protocol as a device speaks it: topics, timestamps and JSON bodies (docs/protocol.md).

Everything here builds bytes; core.codecs.native is the other side and the tests hold the two
together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, Final, Literal

import orjson

Kind = Literal["telemetry", "event", "status"]
# What the receiving side should do with a message: store it, recognise it as a redelivery
# of an earlier one, or dead-letter it. "unrouted": the topic is outside the protocol's three
# topic filters (<prefix>/+/telemetry, /event, /status), so a receiver never gets it.
Expect = Literal["store", "duplicate", "dead_letter", "unrouted"]
KINDS: Final = ("telemetry", "event", "status")

CHINA_STANDARD_TIME: Final = timezone(timedelta(hours=8))


class TsFormat(StrEnum):
    """How a device writes ``ts``; real fleets mix these."""

    ISO_UTC = "iso"  # 2026-11-27T00:10:00.123Z
    ISO_CST = "iso_cst"  # 2026-11-27T08:10:00.123+08:00 (device clock on Beijing time)
    EPOCH_MS = "epoch_ms"  # 1795741800123
    EPOCH_S = "epoch_s"  # 1795741800.123
    NONE = "none"  # no ts at all: the receiver uses its receive time


@dataclass(frozen=True, slots=True)
class OutMessage:
    """One MQTT message a simulated device publishes, with what the receiver should make of it."""

    topic: str
    payload: bytes
    device_id: str | None
    kind: Kind | None
    retain: bool = False
    event_type: str | None = None
    seq: int | None = None
    expect: Expect = "store"
    # The DecodeError code core.codecs.native raises, for messages meant to be dead-lettered.
    reason_code: str | None = None
    # Name of the malformed case, for tables of bad input.
    label: str | None = None
    # True when ts and seq are both present: only then is a redelivery recognisable, because
    # the receiver's natural key is (device, ts, seq) and a missing ts becomes the receive time.
    dedupable: bool = False

    def as_duplicate(self) -> OutMessage:
        """The same bytes again, as a QoS 1 redelivery would bring them."""
        return OutMessage(
            topic=self.topic,
            payload=self.payload,
            device_id=self.device_id,
            kind=self.kind,
            retain=self.retain,
            event_type=self.event_type,
            seq=self.seq,
            expect="duplicate" if self.expect == "store" and self.dedupable else self.expect,
            reason_code=self.reason_code,
            label=self.label,
            dedupable=self.dedupable,
        )


def topic(prefix: str, device_id: str, kind: Kind) -> str:
    """``<prefix>/<device_id>/<kind>``."""
    return f"{prefix}/{device_id}/{kind}"


def subscriptions(prefix: str) -> list[str]:
    """The topic filters a receiver of the native protocol subscribes to."""
    return [f"{prefix}/+/{kind}" for kind in KINDS]


def format_ts(when: datetime, fmt: TsFormat) -> str | int | float | None:
    """Write ``when`` the way a device using ``fmt`` does (millisecond precision)."""
    if fmt is TsFormat.NONE:
        return None
    if fmt is TsFormat.EPOCH_MS:
        return round(when.timestamp() * 1000)
    if fmt is TsFormat.EPOCH_S:
        return round(when.timestamp(), 3)
    if fmt is TsFormat.ISO_CST:
        return when.astimezone(CHINA_STANDARD_TIME).isoformat(timespec="milliseconds")
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def body(when: datetime, fmt: TsFormat, seq: int | None, fields: dict[str, Any]) -> bytes:
    """A JSON body: ``ts`` and ``seq`` first (easier to read in a broker log), then ``fields``."""
    head: dict[str, Any] = {}
    ts = format_ts(when, fmt)
    if ts is not None:
        head["ts"] = ts
    if seq is not None:
        head["seq"] = seq
    head.update(fields)
    return orjson.dumps(head)
