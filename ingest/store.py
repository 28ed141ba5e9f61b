"""Writes decoded messages to PostgreSQL: readings by COPY, events pipelined, dead letters.

Everything a batch holds is written in one transaction, and the caller acknowledges the
batch to the broker only after :meth:`Store.write` returns. Natural keys make a rewrite of
the same batch (after a crash or a lost connection) change nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb, set_json_dumps

from core.db import connect, load_queries, translated_errors
from core.domain import ALERTABLE_EVENTS, EventType
from core.errors import DecodeError
from core.records import DeadLetter, Event, Reading
from ingest.inbound import Inbound

log = logging.getLogger(__name__)
Q = load_queries("ingest", "queries.sql")

_COPY_TYPES = [
    "text",
    "timestamptz",
    "timestamptz",
    "int8",
    "float4",
    "float4",
    "float4",
    "int4",
    "int2",
    "text",
    "jsonb",
]


@dataclass(slots=True)
class WriteResult:
    """What one batch did to the database."""

    readings: int = 0
    events: int = 0
    duplicates: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)


class Store:
    """One connection's worth of ingest writes; not thread-safe, one per writer thread."""

    def __init__(self, database_url: str, *, source: str = "native") -> None:
        self._url = database_url
        self._source = source
        self._conn: psycopg.Connection[Any] | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            conn = connect(self._url)
            set_json_dumps(dumps_jsonb, context=conn)
            conn.execute(Q["create_staging"])
            conn.commit()
            self._conn = conn
        return self._conn

    def write(self, batch: list[Inbound]) -> WriteResult:
        """Store a batch in one transaction; raise DatabaseUnavailable to have it retried."""
        result = WriteResult()
        with translated_errors():
            conn = self._connection()
            try:
                with conn.transaction():
                    self._write_in(conn, batch, result)
            except (psycopg.OperationalError, psycopg.InterfaceError):
                self.close()
                raise
        return result

    def _prepare(
        self, conn: psycopg.Connection[Any], batch: list[Inbound], result: WriteResult
    ) -> None:
        """Decode what could not be decoded at the edge (vendor codecs need stored state)."""

    def _write_in(
        self, conn: psycopg.Connection[Any], batch: list[Inbound], result: WriteResult
    ) -> None:
        """Everything one batch does, inside the caller's transaction."""
        self._prepare(conn, batch, result)
        readings: list[tuple[Inbound, Reading]] = []
        events: list[tuple[Inbound, Event]] = []
        for item in batch:
            if item.error is not None:
                result.dead_letters.append(_dead_letter(item, item.error))
                if not item.records:
                    continue
                # A registered device's undecodable message: parked, and still a sign of life
                # (ingest/codec_store.py); its records are the bare liveness reading.
            for record in item.records:
                if isinstance(record, Reading):
                    readings.append((item, record))
                else:
                    events.append((item, record))
                    if record.telemetry is not None:
                        readings.append((item, record.telemetry))
        if events:
            self._write_events(conn, events, result)
        if readings:
            self._write_readings(conn, readings, result)
        for letter in result.dead_letters:
            _insert_dead_letter(conn, letter)

    # events ---------------------------------------------------------------------------

    def _write_events(
        self,
        conn: psycopg.Connection[Any],
        events: list[tuple[Inbound, Event]],
        result: WriteResult,
    ) -> None:
        # Same lock order as the telemetry path (device_id), so the writers never deadlock.
        events.sort(key=lambda pair: pair[1].device_id)
        for round_ in _rounds(events):
            self._write_round(conn, round_, result)

    def _write_round(
        self,
        conn: psycopg.Connection[Any],
        events: list[tuple[Inbound, Event]],
        result: WriteResult,
    ) -> None:
        """Events of distinct devices, in three pipelined steps instead of four round trips
        each: an alarm storm's batch of thousands is three waits on the database, not
        thousands (docs/benchmarks.md). One device's events are in separate rounds, in
        order, so each sees the state the one before it left."""
        params = [_event_params(event, item.retained) for item, event in events]
        with conn.cursor() as cur:
            cur.executemany(Q["insert_event"], params, returning=True)
            inserted = _one_row_each(cur)
        to_update: list[dict[str, Any]] = []
        for (item, event), values, row in zip(events, params, inserted, strict=True):
            if row is None:
                known = conn.execute(Q["device_exists"], values).fetchone()
                if known and known["known"]:
                    result.duplicates += 1
                    to_update.append(values)
                else:
                    _note_unregistered(conn, item, event.device_id)
                    result.dead_letters.append(
                        _dead_letter(item, _unknown(event.device_id), device_id=event.device_id)
                    )
                continue
            result.events += 1
            result.event_ids.append(row["id"])
            if event.type in ALERTABLE_EVENTS:
                values["event_id"] = row["id"]
            to_update.append(values)
        if not to_update:
            return
        enqueue = [v for v in to_update if "event_id" in v]
        with conn.pipeline():
            if enqueue:
                conn.cursor().executemany(Q["enqueue_event"], enqueue)
            locked = conn.cursor()
            locked.executemany(Q["lock_state"], to_update, returning=True)
            conn.cursor().executemany(Q["update_state_from_event"], to_update)
        states = _one_row_each(locked)
        back = [
            values
            for values, state in zip(to_update, states, strict=True)
            if state and state["was_offline"] and values["alive"]
        ]
        if back:
            with conn.cursor() as cur:
                cur.executemany(Q["insert_back_online_event"], back)

    # readings -------------------------------------------------------------------------

    def _write_readings(
        self,
        conn: psycopg.Connection[Any],
        readings: list[tuple[Inbound, Reading]],
        result: WriteResult,
    ) -> None:
        with conn.cursor() as cur:
            with cur.copy(Q["copy_staging"]) as copy:
                copy.set_types(_COPY_TYPES)
                for _, r in readings:
                    copy.write_row(
                        (
                            r.device_id,
                            r.ts,
                            r.received_at,
                            r.msg_key,
                            r.smoke_obscuration,
                            r.temperature_c,
                            r.battery_pct,
                            r.battery_mv,
                            r.signal_dbm,
                            _text(r.firmware),
                            Jsonb(r.extra) if r.extra is not None else None,
                        )
                    )
            unknown = {row["device_id"] for row in cur.execute(Q["unknown_staged_devices"])}
            if unknown:
                cur.execute(Q["discard_unknown_staged"], {"device_ids": list(unknown)})
            cur.execute(Q["insert_staged_readings"])
            inserted = cur.rowcount
            back_online = [
                row
                for row in cur.execute(Q["update_states_from_staging"]).fetchall()
                if row["was_offline"]
            ]
            for row in back_online:
                cur.execute(Q["insert_back_online_event"], row)
        known_count = 0
        seen_unknown: set[str] = set()
        for item, reading in readings:
            if reading.device_id in unknown:
                if reading.device_id not in seen_unknown:
                    seen_unknown.add(reading.device_id)
                    _note_unregistered(conn, item, reading.device_id)
                if item.records and isinstance(item.records[0], Reading):
                    result.dead_letters.append(
                        _dead_letter(item, _unknown(reading.device_id), device_id=reading.device_id)
                    )
            else:
                known_count += 1
        result.readings += inserted
        result.duplicates += known_count - inserted


def _rounds(events: list[tuple[Inbound, Event]]) -> list[list[tuple[Inbound, Event]]]:
    """Split events sorted by device into rounds holding each device at most once, in order
    (a storm's batch, one alarm per device, is one round)."""
    rounds: list[list[tuple[Inbound, Event]]] = []
    seen: dict[str, int] = {}
    for pair in events:
        n = seen.get(pair[1].device_id, 0)
        seen[pair[1].device_id] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(pair)
    return rounds


def _one_row_each(cur: psycopg.Cursor[Any]) -> list[Any]:
    """The first row (or None) of each statement an ``executemany(returning=True)`` ran."""
    rows = []
    for _ in cur.results():
        rows.append(cur.fetchone())
    return rows


def _event_params(event: Event, retained: bool) -> dict[str, Any]:
    t = event.telemetry
    return {
        "device_id": event.device_id,
        "ts": event.ts,
        "received_at": event.received_at,
        "msg_key": event.msg_key,
        "type": event.type.value,
        "priority": int(event.priority),
        "source": event.source,
        "data": Jsonb(event.data) if event.data is not None else None,
        "raw": Jsonb(event.raw) if event.raw is not None else None,
        "retained": retained,
        "alive": event.type is not EventType.OFFLINE,
        "connection": (event.data or {}).get("connection")
        if event.type in (EventType.ONLINE, EventType.OFFLINE)
        else None,
        "battery_pct": t.battery_pct if t else None,
        "battery_mv": t.battery_mv if t else None,
        "signal_dbm": t.signal_dbm if t else None,
        "temperature_c": t.temperature_c if t else None,
        "smoke_obscuration": t.smoke_obscuration if t else None,
        "firmware": _text(t.firmware) if t else None,
    }


def dumps_jsonb(obj: Any) -> bytes:
    """orjson, minus NUL characters: PostgreSQL's jsonb rejects \\u0000 and text cannot hold it.

    The check is one substring search on the encoded bytes, so clean documents (all but a
    vanishing few) cost nothing extra; a document with NULs is cleaned and kept, not parked.
    """
    out = orjson.dumps(obj)
    if b"\\u0000" in out:
        out = orjson.dumps(_without_nul(obj))
    return out


def _without_nul(obj: Any) -> Any:
    if isinstance(obj, str):
        return obj.replace("\x00", "")
    if isinstance(obj, dict):
        return {_without_nul(k): _without_nul(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_without_nul(v) for v in obj]
    return obj


def _text(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL either; a firmware string with one is kept without it.
    if value is not None and "\x00" in value:
        return value.replace("\x00", "")
    return value


def _unknown(device_id: str) -> DecodeError:
    return DecodeError("unknown_device", f"device {device_id!r} is not registered")


def _dead_letter(item: Inbound, error: DecodeError, *, device_id: str | None = None) -> DeadLetter:
    return DeadLetter(
        source=item.via,
        received_at=item.received_at,
        reason_code=error.code,
        reason=str(error),
        payload=item.payload,
        topic=item.topic,
        device_id=device_id or item.device_id or (item.error.device_id if item.error else None),
    )


def _insert_dead_letter(conn: psycopg.Connection[Any], letter: DeadLetter) -> None:
    conn.execute(
        Q["insert_dead_letter"],
        {
            "received_at": letter.received_at,
            "source": letter.source,
            "topic": letter.topic,
            "device_id": letter.device_id,
            "reason_code": letter.reason_code,
            "reason": letter.reason,
            "payload": letter.payload,
            "payload_size": len(letter.payload),
        },
    )


def _note_unregistered(
    conn: psycopg.Connection[Any], item: Inbound, device_id: str, *, source: str = "native"
) -> None:
    conn.execute(
        Q["note_unregistered"],
        {
            "source": source,
            "external_id": device_id,
            "received_at": item.received_at,
            "topic": item.topic,
            "payload": item.payload[:4096],
        },
    )
