"""The codec store: transitions inside one batch and across batches, state kept in the database."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import psycopg

from core.codecs.registry import default_registry
from core.factory import create_device
from device_sim import formats
from ingest.codec_store import CodecStore
from ingest.inbound import Inbound

NAME = "0x00124b0018e2a1b2"


def inbound(topic: str, payload: bytes) -> Inbound:
    return Inbound(
        mid=0,
        generation=0,
        qos=0,
        topic=topic,
        payload=payload,
        received_at=datetime.now(UTC),
        received_mono=time.monotonic(),
        retained=False,
        codec="zigbee2mqtt",
    )


def test_write_carries_state_within_and_across_batches(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        create_device(conn, device_id="NZ-S0001", model_code="tuya-ts0205")
        conn.execute(
            "INSERT INTO device_identities VALUES ('zigbee2mqtt', %s, 'NZ-S0001')", (NAME,)
        )
    store = CodecStore(database_url, default_registry())
    states = [False, True, True, False, True]
    messages = [inbound(*formats.zigbee_state(NAME, smoke=s)) for s in states]
    try:
        first = store.write(messages[:4])  # one batch: off, on, on, off
        second = store.write(messages[4:])  # next batch: on again
        replay = store.write(messages[4:])  # same state again (a redelivery): no new alarm
    finally:
        store.close()
    assert (first.events, second.events, replay.events) == (2, 1, 0)
    with psycopg.connect(database_url) as conn:
        types = [r[0] for r in conn.execute("SELECT type FROM events ORDER BY id").fetchall()]
        saved = conn.execute(
            "SELECT state FROM codec_states WHERE codec = 'zigbee2mqtt' AND external_id = %s",
            (NAME,),
        ).fetchone()
    assert types == ["alarm", "alarm_cleared", "alarm"]
    assert saved is not None and saved[0]
