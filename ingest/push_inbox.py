"""Process the HTTP push inbox: requests the API accepted durably, decoded here asynchronously.

The API commits each push request as a ``push_inbox`` row and NOTIFYs ``smokewatch_push``. This
thread wakes on the notification (or after the poll interval, the backstop), claims rows with
FOR UPDATE SKIP LOCKED so several ingest workers share the inbox, stores what they decode to
through the same store as MQTT (dead letters included) and deletes them in the same
transaction: a crash before commit leaves the rows for the next claim, never half-processed.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

import psycopg

from core.db import connect, load_queries, translated_errors
from core.errors import DatabaseUnavailable, DecodeError
from core.pg_channels import PUSH_CHANNEL, listen_sql
from ingest import metrics
from ingest.codec_store import CodecStore
from ingest.commands.ctwing import record_command_responses
from ingest.inbound import Inbound
from ingest.store import WriteResult, _dead_letter, _insert_dead_letter

log = logging.getLogger(__name__)
Q = load_queries("ingest", "queries.sql")


class InboxStore(CodecStore):
    """Claims, decodes, stores and deletes inbox rows, one transaction per claim."""

    def process(self, limit: int) -> int:
        """Handle up to ``limit`` rows; return how many were taken (0: the inbox is empty)."""
        with translated_errors():
            conn = self._connection()
            rows: list[dict[str, Any]] = []
            try:
                try:
                    with conn.transaction():
                        rows = conn.execute(Q["claim_inbox"], {"limit": limit}).fetchall()
                        self._store_rows(conn, rows)
                    return len(rows)
                except (psycopg.OperationalError, psycopg.InterfaceError):
                    raise
                except psycopg.Error:
                    # Something in the claim: take the rows one at a time, parking any that
                    # the store still rejects, so one poisoned push never blocks the others.
                    log.exception("push inbox: claim of up to %d rows failed; isolating", limit)
                    return self._one_by_one(conn, [row["id"] for row in rows])
            except (psycopg.OperationalError, psycopg.InterfaceError):
                self.close()
                raise

    def _store_rows(self, conn: psycopg.Connection[Any], rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        items = [_inbound(row) for row in rows]
        result = WriteResult()
        self._write_in(conn, items, result)
        record_command_responses(conn, rows)  # CTWing receipts of our commands (issue 19)
        conn.execute(Q["delete_inbox"], {"ids": [row["id"] for row in rows]})
        # Counted before commit: a rolled-back claim is counted again when retried (rare).
        metrics.PUSH_PROCESSED.inc(len(rows))
        metrics.STORED.labels("reading").inc(result.readings)
        metrics.STORED.labels("event").inc(result.events)
        metrics.DUPLICATES.labels("push").inc(result.duplicates)
        for letter in result.dead_letters:
            metrics.DEAD_LETTERS.labels(letter.reason_code).inc()
            log.warning(
                "push dead letter (%s) %s device=%s payload=%r",
                letter.reason_code,
                letter.topic,
                letter.device_id,
                letter.payload[:120],
            )

    def _one_by_one(self, conn: psycopg.Connection[Any], ids: list[int]) -> int:
        for row_id in ids:
            try:
                with conn.transaction():
                    rows = conn.execute(Q["claim_inbox_row"], {"id": row_id}).fetchall()
                    self._store_rows(conn, rows)
            except (psycopg.OperationalError, psycopg.InterfaceError):
                raise
            except psycopg.Error as exc:
                with conn.transaction():
                    rows = conn.execute(Q["claim_inbox_row"], {"id": row_id}).fetchall()
                    for row in rows:
                        item = _inbound(row)
                        error = DecodeError("store_error", f"could not be stored: {exc!r}"[:500])
                        _insert_dead_letter(conn, _dead_letter(item, error))
                    conn.execute(Q["delete_inbox"], {"ids": [row_id]})
        return max(len(ids), 1)


def _inbound(row: dict[str, Any]) -> Inbound:
    received_at: datetime = row["received_at"]
    return Inbound(
        mid=0,
        generation=0,
        qos=0,
        topic=f"/ingest/{row['codec']}",
        payload=bytes(row["body"]),
        received_at=received_at,
        received_mono=0.0,
        retained=False,
        codec=row["codec"],
        via="http",
        method=row["method"],
        query={str(k): str(v) for k, v in (row["query"] or {}).items()},
    )


class InboxWorker(threading.Thread):
    """Wakes on NOTIFY or every ``poll_s`` and drains the inbox."""

    def __init__(self, *, database_url: str, store: InboxStore, poll_s: float, batch: int) -> None:
        super().__init__(name="push-inbox", daemon=True)
        self._url = database_url
        self._store = store
        self._poll_s = poll_s
        self._batch = batch
        self._stopping = threading.Event()

    def stop(self) -> None:
        """End after the current claim."""
        self._stopping.set()

    def run(self) -> None:
        listener: psycopg.Connection[Any] | None = None
        while not self._stopping.is_set():
            try:
                if listener is None or listener.closed:
                    with translated_errors():
                        listener = connect(self._url, autocommit=True)
                        listener.execute(listen_sql(PUSH_CHANNEL))
                self._drain()
                # Bounded wait: a notification wakes us early, the timeout is the poll.
                for _ in listener.notifies(timeout=self._poll_s, stop_after=1):
                    pass
            except (DatabaseUnavailable, psycopg.OperationalError) as exc:
                log.warning("push inbox: database unavailable (%s); retrying", exc)
                if listener is not None:
                    listener.close()
                listener = None
                self._stopping.wait(min(self._poll_s, 2.0))
        if listener is not None:
            listener.close()
        self._store.close()

    def _drain(self) -> None:
        # Bounded: at most 1000 claims per wake-up, then back to the loop (and the stop flag).
        for _ in range(1000):
            if self._stopping.is_set() or self._store.process(self._batch) == 0:
                return
