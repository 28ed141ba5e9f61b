"""Write delivered steps in batches, off the senders' threads.

A sender used to finish its page itself: one statement and one commit per page, on one of a
few pooled connections. In a storm to one SMS gateway that was PostgreSQL's largest cost,
and each sender waited for the commit before it could take the next page to that gateway,
so the gateway's share of the senders spent part of its time on our own bookkeeping
(docs/benchmarks.md). A sender now hands the delivered step to the :class:`Finisher` and is
free at once; one thread writes whatever has gathered meanwhile in one statement
(``steps_delivered``), so a storm's commits come in groups and a quiet system still writes
each page at once.

A step waiting here is still leased to this worker (``finishing`` is renewed with the steps
in flight), so nobody else sends it again. If the worker dies before the write, the lease
expires and the page is sent once more: the same "at most one repeat" as a death between a
send and its write, in a window a few milliseconds wider.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from alerting import metrics, outbox

log = logging.getLogger(__name__)
Row = dict[str, Any]
# Steps per statement; a storm's backlog is written in a few statements of this size.
MAX_BATCH = 256


class Finisher:
    """Collects delivered steps from the senders and writes them on one thread."""

    def __init__(self, pool: ConnectionPool, worker: str) -> None:
        self.pool = pool
        self.worker = worker
        self._queue: deque[tuple[Row, float]] = deque()
        self._writing: set[int] = set()
        self._ready = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="finisher", daemon=True)
        self._thread.start()

    def delivered(self, step: Row) -> None:
        """Queue one delivered step (see ``outbox.steps_delivered`` for its keys)."""
        with self._ready:
            self._queue.append((step, time.monotonic()))
            self._ready.notify()

    def finishing(self) -> list[int]:
        """Ids of the steps not written yet (their leases must be renewed)."""
        with self._ready:
            return [step["id"] for step, _ in self._queue] + list(self._writing)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop."""
        with self._ready:
            self._closing = True
            self._ready.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("finishing delivered steps did not end in %.0f s", timeout)

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closing:
                    self._ready.wait()
                if not self._queue:
                    return  # closing, and everything is written
                taken = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
                self._writing = {step["id"] for step, _ in taken}
            try:
                self._write(taken)
            except Exception:
                # The rows stay 'sending' under our lease until it expires; then they are
                # sent again (at most one repeat). Losing this thread would lose every page's
                # bookkeeping from here on, so it goes on with the next batch.
                log.exception("writing %d delivered steps failed", len(taken))
            finally:
                with self._ready:
                    self._writing = set()

    def _write(self, taken: list[tuple[Row, float]]) -> None:
        try:
            done = self._statement(taken)
        except psycopg.OperationalError as exc:
            # The pool does not check connections at checkout (alerting/service.py): one that
            # died while idle fails here; drop it, check the others and write once more.
            # Only rows still leased to us change, so a second run changes nothing twice.
            log.warning("writing delivered steps failed (%s); once more", exc)
            self.pool.check()
            done = self._statement(taken)
        written = {row["id"] for row in done}
        for step, _ in taken:
            if step["id"] not in written:
                log.warning("lost the lease of notification %s before it was marked", step["id"])
        for row in done:
            metrics.NOTIFICATIONS.labels("delivered").inc()
            if row["wave"] == 1 and row["event_at"] is not None:
                delay = (row["sent_at"] - row["event_at"]).total_seconds()
                metrics.EVENT_TO_DELIVERY.observe(delay)

    def _statement(self, taken: list[tuple[Row, float]]) -> list[Row]:
        with self.pool.connection() as conn:
            # Ages taken once the connection is ours: waiting for it must not move the times.
            now = time.monotonic()
            steps = [step | {"ago_s": max(now - at, 0.0)} for step, at in taken]
            return outbox.steps_delivered(conn, worker=self.worker, steps=steps)


__all__ = ["MAX_BATCH", "Finisher"]
