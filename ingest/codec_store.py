"""The store for vendor formats: decode inside the writer's transaction, with locked codec state.

Codecs derive events from transitions (zigbee2mqtt republishes the full state on every change),
so decoding needs the device's previous codec state. Reading it at the edge would race: two
messages for one device in the same batch, or on two workers, would both see the old state.
So the lane only records the raw message, and the writer decodes the whole batch in its
transaction: it locks every codec state row the batch names (in key order, so workers never
deadlock), decodes the messages in arrival order carrying states forward in memory, and saves
the new states in the same transaction that stores the records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import psycopg
from psycopg.types.json import Jsonb

from core.codecs.battery import BatteryLimits
from core.codecs.common import message_key
from core.codecs.registry import CodecRegistry, Outcome, run_codec
from core.codecs.types import Announcement, Codec, Message, State
from core.db import load_queries
from core.errors import DecodeError
from core.records import Reading
from ingest import metrics
from ingest.inbound import Inbound
from ingest.store import Store, WriteResult, _note_unregistered

log = logging.getLogger(__name__)
Q = load_queries("ingest", "queries.sql")

# Push dedupe keys (CTWing sequence numbers, OneNET message ids) are forgotten after a day:
# devices restart their counters, and the carriers retry within minutes.
DEDUPE_KEEP = "1 day"


class CodecStore(Store):
    """A :class:`Store` whose messages are decoded by vendor codecs at write time."""

    def __init__(self, database_url: str, registry: CodecRegistry) -> None:
        super().__init__(database_url, source="codec")
        self._registry = registry

    def _prepare(
        self, conn: psycopg.Connection[Any], batch: list[Inbound], result: WriteResult
    ) -> None:
        pending = [item for item in batch if item.codec is not None]
        if not pending:
            return
        messages: list[tuple[Inbound, Codec, Message]] = []
        wanted: dict[str, set[str]] = {}
        for item in pending:
            item.records, item.error = (), None
            try:
                codec = self._registry.get(item.codec or "")
                message = _message(item)
                wanted.setdefault(codec.name, set()).update(codec.identify(message))
            except DecodeError as exc:
                item.error = exc
                continue
            except Exception as exc:  # a codec bug must not stop the lane; park the message
                log.exception("codec %s: identify failed", item.codec)
                item.error = DecodeError("decoder_error", f"internal codec error: {exc!r}"[:300])
                continue
            messages.append((item, codec, message))
        states = _lock_states(conn, wanted)
        changed: set[tuple[str, str]] = set()

        def load_states(name: str, ids: Sequence[str]) -> Mapping[str, State]:
            # An empty object is a placeholder row: the codec sees "no previous state".
            return {i: states[(name, i)] for i in ids if states.get((name, i))}

        def lookup_devices(name: str, ids: Sequence[str]) -> Mapping[str, str]:
            rows = conn.execute(
                Q[_query(name, "lookup_identities")], {"codec": name, "external_ids": list(ids)}
            ).fetchall()
            return {row["external_id"]: row["device_id"] for row in rows}

        def load_profiles(name: str, ids: Sequence[str]) -> Mapping[str, dict[str, Any]]:
            rows = conn.execute(
                Q[_query(name, "lookup_profiles")], {"codec": name, "external_ids": list(ids)}
            ).fetchall()
            profiles = {row["external_id"]: _profile(row) for row in rows}
            return {external_id: p for external_id, p in profiles.items() if p}

        for item, codec, message in messages:
            try:
                outcome = run_codec(
                    codec,
                    message,
                    load_states=load_states,
                    lookup_devices=lookup_devices,
                    load_profiles=load_profiles,
                )
            except DecodeError as exc:
                item.error = exc
                _speaker_of_undecodable(codec, message, item, lookup_devices)
                continue
            except Exception as exc:
                log.exception("codec %s: decode failed", codec.name)
                item.error = DecodeError("decoder_error", f"internal codec error: {exc!r}"[:300])
                continue
            decoded = outcome.decoded
            key = decoded.dedupe_key
            if key is not None and not _first_time(conn, codec.name, item, key):
                result.duplicates += 1
                continue
            item.records = outcome.records
            for external_id, state in decoded.states.items():
                states[(codec.name, external_id)] = state
                changed.add((codec.name, external_id))
            _beside_records(conn, codec.name, item, outcome)
        for codec_name, external_id in sorted(changed):
            conn.execute(
                Q["save_codec_state"],
                {
                    "codec": codec_name,
                    "external_id": external_id,
                    "state": Jsonb(states[(codec_name, external_id)]),
                },
            )


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
    item: Inbound,
    lookup_devices: Callable[[str, Sequence[str]], Mapping[str, str]],
) -> None:
    """Name the registered device on the dead letter and keep a bare liveness reading."""
    error = item.error
    if error is None or error.code not in _DEVICE_SPOKE:
        return
    try:
        ids = codec.identify(message)
    except DecodeError:
        return
    known = lookup_devices(codec.name, ids) if ids else {}
    if len(known) != 1:
        return  # nobody registered, or a batch of several: the letter cannot name one device
    device_id = next(iter(known.values()))
    item.device_id = device_id
    item.records = (
        Reading(
            device_id,
            item.received_at,
            item.received_at,
            message_key(item.topic or "", item.payload),
            extra={"undecoded": error.code, "reason": str(error)[:300]},
        ),
    )


def _beside_records(
    conn: psycopg.Connection[Any], codec_name: str, item: Inbound, outcome: Outcome
) -> None:
    """What a decoded message says besides records: strangers, announcements, gateways."""
    for external_id in outcome.unregistered:
        _note_unregistered(conn, item, external_id, source=codec_name)
        metrics.UNREGISTERED.labels(codec_name).inc()
    for announcement in outcome.decoded.announcements:
        _save_announcement(conn, announcement, item)
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


def _save_announcement(
    conn: psycopg.Connection[Any], announcement: Announcement, item: Inbound
) -> None:
    """Keep what a device announced (the config replaces the previous one of its topic)."""
    conn.execute(Q["ha_forget_config"], {"topic": announcement.topic})
    for entity in announcement.entities:
        conn.execute(
            Q["ha_save_entity"],
            {
                "config_topic": announcement.topic,
                "entity_key": entity.get("key") or "",
                "device_key": entity.get("device_key"),
                "component": entity.get("component") or "",
                "device_class": entity.get("device_class"),
                "state_topic": entity.get("state_topic"),
                "entity": Jsonb(entity),
                "unsupported": entity.get("unsupported"),
                "seen_at": item.received_at,
            },
        )


def _message(item: Inbound) -> Message:
    if item.via == "http":
        return Message(
            body=item.payload,
            received_at=item.received_at,
            method=item.method,
            query=item.query,
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


def _first_time(conn: psycopg.Connection[Any], codec_name: str, item: Inbound, key: str) -> bool:
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
