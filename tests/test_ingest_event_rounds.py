"""A batch holding several events of one device is written in order (issue 22's pipelined
event writes): each event sees the state the one before it left, as when they were written
one by one."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from core.domain import EventType, Priority
from core.records import Event
from ingest.inbound import Inbound
from ingest.store import Store
from tests.support import register_devices

pytestmark = pytest.mark.storage

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def event(
    device: str, kind: EventType, second: int, *, retained: bool = False, **data: Any
) -> Inbound:
    ts = T0 + timedelta(seconds=second)
    record = Event(
        device_id=device,
        ts=ts,
        received_at=ts,
        msg_key=second,
        type=kind,
        priority=Priority.FIRE if kind is EventType.ALARM else Priority.INFO,
        source="native",
        data=data or None,
    )
    return Inbound(
        mid=second,
        generation=1,
        qos=1,
        topic=f"t/{device}/event",
        payload=b"{}",
        received_at=ts,
        received_mono=time.monotonic(),
        retained=retained,
        records=(record,),
        device_id=device,
    )


def test_write_events_of_one_device_in_one_batch_in_order(database_url: str) -> None:
    register_devices(database_url, ["NZ-R1", "NZ-R2", "NZ-R3"])
    store = Store(database_url)
    try:
        result = store.write(
            [
                event("NZ-R1", EventType.ALARM, 1),
                event("NZ-R2", EventType.ONLINE, 1, retained=True, connection="online"),
                event("NZ-R1", EventType.ALARM_CLEARED, 2),
                # The same retained status again in the same batch: no news, not stored.
                event("NZ-R2", EventType.ONLINE, 2, retained=True, connection="online"),
                event("NZ-R3", EventType.ALARM, 5),
                event("NZ-R1", EventType.ALARM, 3),
                event("NZ-NOBODY", EventType.ALARM, 1),
            ]
        )
        # The same batch again (a redelivery after a lost acknowledgement) changes nothing.
        again = store.write(
            [event("NZ-R1", EventType.ALARM, 1), event("NZ-R3", EventType.ALARM, 5)]
        )
    finally:
        store.close()
    # The repeated retained status counts as a duplicate, the unknown device as a dead letter.
    assert (result.events, result.duplicates, len(result.dead_letters)) == (5, 1, 1)
    assert (again.events, again.duplicates) == (0, 2)
    with psycopg.connect(database_url) as conn:
        stored = conn.execute(
            "SELECT device_id, type FROM events ORDER BY device_id, ts"
        ).fetchall()
        pending = conn.execute(
            "SELECT device_id, type FROM pending_events ORDER BY device_id, event_ts"
        ).fetchall()
        state = dict(
            conn.execute(
                "SELECT device_id, alarm_active FROM device_state"
                " WHERE device_id IN ('NZ-R1', 'NZ-R3')"
            ).fetchall()
        )
    assert stored == [
        ("NZ-R1", "alarm"),
        ("NZ-R1", "alarm_cleared"),
        ("NZ-R1", "alarm"),
        ("NZ-R2", "online"),
        ("NZ-R3", "alarm"),
    ]
    assert ("NZ-R1", "alarm") in pending and ("NZ-R3", "alarm") in pending
    # The newest event in device time decides: NZ-R1 alarmed again after its clear.
    assert state == {"NZ-R1": True, "NZ-R3": True}
