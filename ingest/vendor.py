"""Vendor codecs inside the writer's transaction, with the devices' codec state locked.

Codecs derive events from transitions (zigbee2mqtt republishes the full state on every change),
so decoding needs the device's previous codec state. Reading it at the edge would race: two
messages for one device in the same batch, or on two workers, would both see the old state.
So the decode step (ingest/decode.py) runs in the writer's transaction: it asks every codec
which devices its messages name, locks their state rows (in key order, so workers never
deadlock), decodes the messages in arrival order carrying states forward in memory, and saves
the new states in the same transaction that stores the records. The codec states and the push
dedupe keys are the codecs' own memory; what a message says is left to the store to write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import psycopg
from psycopg.types.json import Jsonb

from core.codecs.battery import BatteryLimits
from core.codecs.common import message_key
from core.codecs.registry import Outcome, run_codec
from core.codecs.types import Codec, Message, State
from core.db import load_queries
from core.errors import DecodeError
from core.records import Reading
from ingest import metrics
from ingest.received import Received

if TYPE_CHECKING:
    from ingest.decode import Collected

log = logging.getLogger(__name__)
Q = load_queries("ingest", "queries.sql")

# Push dedupe keys (CTWing sequence numbers, OneNET message ids) are forgotten after a day:
# devices restart their counters, and the carriers retry within minutes.
DEDUPE_KEEP = "1 day"


class VendorPass:
    """One batch's vendor decoding: identify every message, lock, decode in order, save."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._wanted: dict[str, set[str]] = {}
        self._states: dict[tuple[str, str], dict[str, Any]] = {}
        self._changed: set[tuple[str, str]] = set()

    def identify(self, item: Received, codec: Codec) -> Message | DecodeError:
        """The codec's view of ``item``, noting the devices it names; or why it has none."""
        try:
            message = _message(item)
            self._wanted.setdefault(codec.name, set()).update(codec.identify(message))
        except DecodeError as exc:
            return exc
        except Exception as exc:  # a codec bug must not stop the lane; park the message
            log.exception("codec %s: identify failed", codec.name)
            return DecodeError("decoder_error", f"internal codec error: {exc!r}"[:300])
        return message

    def lock(self) -> None:
        """Lock the state rows of every device the batch names (placeholders for new ones)."""
        self._states = _lock_states(self._conn, self._wanted)

    def decode(self, item: Received, codec: Codec, message: Message, out: Collected) -> None:
        """Decode one message with the states carried forward; file the outcome in ``out``."""
        try:
            outcome = run_codec(
                codec,
                message,
                load_states=self._load_states,
                lookup_devices=self._lookup_devices,
                load_profiles=self._load_profiles,
            )
        except DecodeError as exc:
            speaker = _speaker_of_undecodable(codec, message, item, exc, self._lookup_devices)
            out.park(item, exc, speaker)
            if speaker is not None:
                out.records(item, (_alive(item, speaker, exc),))
            return
        except Exception as exc:
            log.exception("codec %s: decode failed", codec.name)
            out.park(item, DecodeError("decoder_error", f"internal codec error: {exc!r}"[:300]))
            return
        decoded = outcome.decoded
        key = decoded.dedupe_key
        if key is not None and not _first_time(self._conn, codec.name, item, key):
            out.duplicates += 1
            return
        out.records(item, outcome.records)
        for external_id, state in decoded.states.items():
            self._states[(codec.name, external_id)] = state
            self._changed.add((codec.name, external_id))
        _beside_records(codec.name, item, outcome, out)

    def save(self) -> None:
        """Store the states the batch changed, in key order."""
        for codec_name, external_id in sorted(self._changed):
            self._conn.execute(
                Q["save_codec_state"],
                {
                    "codec": codec_name,
                    "external_id": external_id,
                    "state": Jsonb(self._states[(codec_name, external_id)]),
                },
            )

    def _load_states(self, name: str, ids: Sequence[str]) -> Mapping[str, State]:
        # An empty object is a placeholder row: the codec sees "no previous state".
        states = self._states
        return {i: states[(name, i)] for i in ids if states.get((name, i))}

    def _lookup_devices(self, name: str, ids: Sequence[str]) -> Mapping[str, str]:
        rows = self._conn.execute(
            Q[_query(name, "lookup_identities")], {"codec": name, "external_ids": list(ids)}
        ).fetchall()
        return {row["external_id"]: row["device_id"] for row in rows}

    def _load_profiles(self, name: str, ids: Sequence[str]) -> Mapping[str, dict[str, Any]]:
        rows = self._conn.execute(
            Q[_query(name, "lookup_profiles")], {"codec": name, "external_ids": list(ids)}
        ).fetchall()
        profiles = {row["external_id"]: _profile(row) for row in rows}
        return {external_id: p for external_id, p in profiles.items() if p}


# A registered device sent something we cannot read (no decoder knows the frame, the vendor's
# decoder output is malformed...). The dead letter names the device, and the message counts as a
# sign of life: the device is there and talking, which is what liveness measures; what it said
# stays in the dead letter for the installers. Errors about the envelope (topic, identity,
# signature, size) and malformed presence reports (availability, online/offline: the bridge or
# platform speaks there, not the device) prove nothing about the device and refresh nothing.
_DEVICE_SPOKE: Final = frozenset(
    {
        "unknown_payload",
        "bad_payload",
        "bad_checksum",
        "bad_base64",
        "bad_json",
        "not_an_object",
        "opaque_payload",
        "unmapped_event",
        "unsupported_message",
        "wrong_type",
        "unsupported_template",
    }
)


def _speaker_of_undecodable(
    codec: Codec,
    message: Message,
    item: Received,
    error: DecodeError,
    lookup_devices: Callable[[str, Sequence[str]], Mapping[str, str]],
) -> str | None:
    """The registered device that sent an undecodable message, when it is exactly one."""
    if error.code not in _DEVICE_SPOKE:
        return None
    try:
        ids = codec.identify(message)
    except DecodeError:
        return None
    known = lookup_devices(codec.name, ids) if ids else {}
    if len(known) != 1:
        return None  # nobody registered, or a batch of several: the letter cannot name one device
    return next(iter(known.values()))


def _alive(item: Received, device_id: str, error: DecodeError) -> Reading:
    """The bare liveness reading an undecodable message of a registered device still counts as."""
    return Reading(
        device_id,
        item.received_at,
        item.received_at,
        message_key(item.topic or "", item.payload),
        extra={"undecoded": error.code, "reason": str(error)[:300]},
    )


def _beside_records(codec_name: str, item: Received, outcome: Outcome, out: Collected) -> None:
    """What a decoded message says besides records: strangers, announcements, gateways."""
    for external_id in outcome.unregistered:
        out.strangers.append((item, codec_name, external_id))
        metrics.UNREGISTERED.labels(codec_name).inc()
    for announcement in outcome.decoded.announcements:
        out.announcements.append((item, announcement))
    gateway = outcome.decoded.gateway
    if gateway is not None:
        _gateway_changed(codec_name, gateway.gateway_id, gateway.online)


def _query(codec_name: str, query: str) -> str:
    # Home Assistant state messages are named by their state topic, which reaches a registered
    # device through the discovered entities (ha_entities) rather than device_identities alone.
    return f"ha_{query}" if codec_name == "homeassistant" else query


def _profile(row: Mapping[str, Any]) -> dict[str, Any]:
    limits = BatteryLimits(
        low_pct=row["battery_low_pct"],
        ok_pct=row["battery_ok_pct"],
        low_mv=row["battery_low_mv"],
        ok_mv=row["battery_ok_mv"],
    )
    profile: dict[str, Any] = {"battery": limits.as_dict()} if limits.usable() else {}
    if row.get("entities"):
        profile["entities"] = row["entities"]
    return profile


def _message(item: Received) -> Message:
    push = item.push
    if push is not None:
        return Message(
            body=item.payload,
            received_at=item.received_at,
            method=push.method,
            query=push.query,
        )
    return Message(body=item.payload, received_at=item.received_at, topic=item.topic)


def _lock_states(
    conn: psycopg.Connection[Any], wanted: Mapping[str, set[str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    states: dict[tuple[str, str], dict[str, Any]] = {}
    for codec_name in sorted(wanted):
        ids = sorted(wanted[codec_name])
        if not ids:
            continue
        params = {"codec": codec_name, "external_ids": ids}
        conn.execute(Q[_query(codec_name, "touch_codec_states")], params)
        for row in conn.execute(Q["lock_codec_states"], params):
            states[(row["codec"], row["external_id"])] = row["state"]
    return states


def _first_time(conn: psycopg.Connection[Any], codec_name: str, item: Received, key: str) -> bool:
    row = conn.execute(
        Q["claim_dedupe_key"],
        {"codec": codec_name, "key": key, "now": item.received_at, "keep": DEDUPE_KEEP},
    ).fetchone()
    return row is not None


def _gateway_changed(codec_name: str, gateway_id: str, online: bool) -> None:
    # A gateway going offline silences every detector behind it. It is not an event of any
    # registered device (offline is P3 and never fires on its own); the detectors' own
    # deadlines turn them offline, and the alert engine groups those by site. Here we make the
    # cause visible: a gauge per gateway and one log line per change.
    metrics.GATEWAY_ONLINE.labels(codec_name, gateway_id).set(1 if online else 0)
    if online:
        log.info("gateway %s/%s is online", codec_name, gateway_id)
    else:
        log.warning("gateway %s/%s is offline: its detectors fall silent", codec_name, gateway_id)
