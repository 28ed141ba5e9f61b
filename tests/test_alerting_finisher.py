"""Delivered steps are written in batches off the senders' threads (alerting/finisher.py)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from alerting import outbox
from alerting.finisher import Finisher
from alerting.processor import EventProcessor
from core.db import make_pool
from tests.support.alerting import alerting_settings, raise_event, scalar, seed_household


def _claimed_pages(database_url: str, db: Any, worker: str) -> list[dict[str, Any]]:
    house = seed_household(db, lambda name: [f"json://127.0.0.1:9/{name}"], tag="fin")
    raise_event(db, house.device_id, "alarm")
    processor = EventProcessor(alerting_settings(database_url), lambda: datetime.now(UTC))
    while processor.process_one(db):
        pass
    rows = outbox.claim_due(db, worker=worker, now=datetime.now(UTC), limit=10, lease_s=30)
    assert len(rows) >= 3, "the fire pages the household's first wave"
    return rows


def _step(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "channel_index": row["channel_index"],
        "scheme": "json",
        "destination": "127.0.0.1:9",
        "outcome": "delivered",
        "response": 'HTTP 200: {"errcode": 0}',
        "elapsed_ms": 3,
        "provider_ref": f"ref-{row['id']}",
        "via": "json",
    }


def test_steps_gathered_while_a_write_waits_are_written_together_with_their_send_times(
    database_url: str, db
) -> None:
    rows = _claimed_pages(database_url, db, "w1")
    taken, kept = rows[0], rows[1:]
    # Another worker took this row meanwhile (our lease expired): it must not be touched.
    db.execute("UPDATE notifications SET lease_owner = 'w2' WHERE id = %s", (taken["id"],))
    pool = make_pool(database_url, max_size=1, autocommit=True, check=False, name="fin")
    pool.open(wait=True)
    finisher = Finisher(pool, "w1")
    try:
        with pool.connection():  # the only connection is busy: the steps gather
            queued_at = datetime.now(UTC)
            for row in rows:
                finisher.delivered(_step(row))
            time.sleep(0.2)
            assert sorted(finisher.finishing()) == sorted(r["id"] for r in rows)
            time.sleep(0.8)
        deadline = time.monotonic() + 10
        while finisher.finishing() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert finisher.finishing() == []
    finally:
        finisher.close()
        pool.close()

    marked = db.execute(
        "SELECT id, status, lease_owner, sent_at, delivered_via, attempts FROM notifications"
        " WHERE id = ANY(%s) ORDER BY id",
        ([r["id"] for r in kept],),
    ).fetchall()
    assert {(r["status"], r["lease_owner"], r["attempts"]) for r in marked} == {
        ("delivered", None, 1)
    }
    for row in marked:
        # The time of the send, not of the write a second later.
        assert abs((row["sent_at"] - queued_at).total_seconds()) < 0.5, row
    audit = scalar(
        db,
        "SELECT count(*) FROM incident_log WHERE action = 'delivered'"
        " AND (detail->>'notification_id')::bigint = ANY(%s)",
        ([r["id"] for r in kept],),
    )
    assert audit == len(kept)
    other = db.execute(
        "SELECT status, lease_owner FROM notifications WHERE id = %s", (taken["id"],)
    ).fetchone()
    assert other == {"status": "sending", "lease_owner": "w2"}, "not ours: left alone"
    refs = {
        r["provider_ref"]
        for r in db.execute(
            "SELECT provider_ref FROM notification_attempts WHERE notification_id = ANY(%s)",
            ([r["id"] for r in rows],),
        )
    }
    assert refs == {f"ref-{r['id']}" for r in rows}, "every request that left is recorded"


def test_a_stopping_finisher_writes_what_is_queued(database_url: str, db) -> None:
    rows = _claimed_pages(database_url, db, "w1")
    pool = make_pool(database_url, max_size=1, autocommit=True, check=False, name="fin")
    pool.open(wait=True)
    finisher = Finisher(pool, "w1")
    closed = threading.Event()
    try:
        with pool.connection():
            for row in rows:
                finisher.delivered(_step(row))
            closing = threading.Thread(target=lambda: (finisher.close(), closed.set()))
            closing.start()
            time.sleep(0.3)
            assert not closed.is_set(), "close waits for the queued steps"
        closing.join(10)
        assert closed.is_set()
    finally:
        pool.close()
    delivered = scalar(
        db,
        "SELECT count(*) FROM notifications WHERE id = ANY(%s) AND status = 'delivered'",
        ([r["id"] for r in rows],),
    )
    assert delivered == len(rows)
