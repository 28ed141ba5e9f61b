"""The alerting service loop: LISTEN, claim, send, sweep, watch; events on their own threads.

Event processor threads (alerting/event_workers.py) turn pending events into incidents and
planned pages in batches and NOTIFY ``smokewatch_notifications``. One thread owns the service
loop and its two connections (one LISTENs on that channel; one does the work); sends run in
a thread pool, never on the loop. Polling every ``poll_interval_s`` is the backstop for a
lost NOTIFY. Several processes may run this at once: events and notifications are claimed
with SKIP LOCKED.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from alerting import metrics, outbox
from alerting.delivery import Dispatcher
from alerting.digest import plan_digests
from alerting.event_workers import EventWorkers
from alerting.health_runner import HealthRunner
from alerting.notices import plan_notices
from alerting.processor import EventProcessor
from alerting.repages import plan_due_repages
from alerting.rounds import plan_due_escalations, plan_due_rounds
from alerting.settings import AlertingSettings
from alerting.watch import SelfWatch
from core.db import connect, make_pool, translated_errors
from core.errors import DatabaseUnavailable
from core.notify import register_plugins
from core.pg_channels import NOTIFICATIONS_CHANNEL, listen_sql

log = logging.getLogger(__name__)
HOUSEKEEPING_EVERY_S = 5.0
RECONNECT_MIN_S = 0.5
STUCK_DUE_WAIT_S = 0.2
# The notification-backlog gauges are refreshed this often while the senders work.
MEASURE_BACKLOG_EVERY_S = 1.0
# A reconnect to a stopped server is one refused connection; a longer wait is how late the
# first alarm after the outage is handled (docs/reliability.md).
RECONNECT_MAX_S = 2.0


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


class AlertingService:
    """One alerting worker."""

    def __init__(
        self,
        settings: AlertingSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
        worker: str | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.worker = (
            worker or settings.alerting_worker_name or f"{socket.gethostname()}:{os.getpid()}"
        )
        self.stop_event = threading.Event()
        self.pool = make_pool(settings.database_url, min_size=1, max_size=4, name="alerting")
        # The senders' own: each finished step is one statement on it (alerting/outbox.sql,
        # step_*; delivered ones in batches, alerting/finisher.py), so no BEGIN/COMMIT and no
        # check at checkout; a dead connection is retried by the writer. Senders hold a
        # connection only between requests, never during one.
        self.send_pool = make_pool(
            settings.database_url,
            min_size=1,
            max_size=min(settings.alerting_workers, 8),
            name="alerting-send",
            autocommit=True,
            check=False,
        )
        self.processor = EventProcessor(settings, clock)
        self.events = EventWorkers(settings, self.processor, self.stop_event)
        self.watch = SelfWatch(settings)
        self.health = HealthRunner(settings, clock, self.stop_event)
        self._watching = threading.Lock()
        self._last_housekeeping = 0.0
        self._last_watch = 0.0
        self._last_backlog = 0.0
        self._last_due = 0
        self._delay = RECONNECT_MIN_S

    def stop(self) -> None:
        """Ask the loop to finish; in-flight sends complete or are resumed elsewhere."""
        self.stop_event.set()

    def run(self, *, max_turns: int | None = None) -> None:
        """Run until :meth:`stop` (or ``max_turns`` loop turns, for tests).

        Losing the database is not fatal: the loop logs it, waits with a bounded backoff and
        reconnects; rows it held are resumed through their leases.
        """
        # Before any sender thread exists: Apprise's registry is filled once, not raced for.
        register_plugins()
        self.pool.open(wait=True, timeout=30)
        self.send_pool.open(wait=True, timeout=30)
        dispatcher = Dispatcher(
            self.settings, self.send_pool, self.worker, self.clock, self.stop_event
        )
        if self.settings.alerting_watchdog_enabled:
            self.health.start()
        self.events.start()
        log.info("alerting worker %s started", self.worker)
        self._delay = RECONNECT_MIN_S
        turns = 0
        try:
            while not self.stop_event.is_set():
                try:
                    with translated_errors():
                        turns = self._serve(dispatcher, turns, max_turns)
                    break  # stopped or max_turns reached
                except DatabaseUnavailable as exc:
                    log.warning(
                        "database unavailable (%s); reconnecting in %.1f s", exc, self._delay
                    )
                    self.stop_event.wait(self._delay)
                    self._delay = min(self._delay * 2, RECONNECT_MAX_S)
        finally:
            self.stop_event.set()
            dispatcher.close()  # steps in flight finish (bounded by the request timeout)
        self.health.join(timeout=30)
        self.events.join(timeout=30)
        self.send_pool.close()
        self.pool.close()
        log.info("alerting worker %s stopped", self.worker)

    def _serve(self, dispatcher: Dispatcher, turns: int, max_turns: int | None) -> int:
        with (
            connect(self.settings.database_url, autocommit=True) as listen,
            connect(self.settings.database_url, autocommit=True) as work,
        ):
            listen.execute(listen_sql(NOTIFICATIONS_CHANNEL))
            self._delay = RECONNECT_MIN_S  # connected again: the next outage starts short
            while not self.stop_event.is_set():
                self._turn(work, dispatcher)
                turns += 1
                if max_turns is not None and turns >= max_turns:
                    break
                self._wait(listen, work, dispatcher)
        return turns

    def _turn(self, conn: psycopg.Connection[Any], dispatcher: Dispatcher) -> None:
        # Events become incidents on their own threads (alerting/event_workers.py); this loop
        # only keeps house and sends.
        mono = time.monotonic()
        if mono - self._last_housekeeping >= HOUSEKEEPING_EVERY_S:
            self._last_housekeeping = mono
            self.housekeeping(conn)
        if mono - self._last_watch >= self.settings.alerting_watch_interval_s:
            self._last_watch = mono
            if self._watching.acquire(blocking=False):
                threading.Thread(target=self._watch, name="self-watch", daemon=True).start()
        dispatcher.claim_and_send(conn)
        self._measure_backlog(conn, dispatcher, mono)

    def _measure_backlog(
        self, conn: psycopg.Connection[Any], dispatcher: Dispatcher, mono: float
    ) -> None:
        """While steps are out (or a backlog was last seen), refresh the backlog gauges every
        second: the self-watch's 30 s round would miss a storm that lasts 20 s."""
        if (
            not (dispatcher.busy or self._last_due)
            or mono - self._last_backlog < MEASURE_BACKLOG_EVERY_S
        ):
            return
        self._last_backlog = mono
        self._last_due = outbox.measure_backlog(conn, self.clock()).due

    def _watch(self) -> None:
        try:
            with self.pool.connection() as conn:
                self.watch.check(conn, self.clock())
        except Exception:
            log.exception("self-watch failed")
        finally:
            self._watching.release()

    def housekeeping(self, conn: psycopg.Connection[Any]) -> None:
        """Sweep expired leases; plan due rounds, escalations, notices, re-pages, digests."""
        swept = outbox.sweep_expired(conn)
        if swept:
            metrics.SWEPT.inc(len(swept))
            log.warning("re-queued %d notifications from a lost worker", len(swept))
        now = self.clock()
        planned = plan_due_rounds(conn, settings=self.settings, now=now)
        planned += plan_due_escalations(conn, settings=self.settings, now=now)
        planned += plan_notices(conn, settings=self.settings, now=now)
        if planned:
            conn.execute("SELECT pg_notify(%s, 'planned')", (NOTIFICATIONS_CHANNEL,))
        plan_due_repages(conn, settings=self.settings, now=self.clock())
        plan_digests(conn, settings=self.settings, now=self.clock())

    def _wait(
        self,
        listen: psycopg.Connection[Any],
        work: psycopg.Connection[Any],
        dispatcher: Dispatcher,
    ) -> None:
        timeout = self.settings.alerting_poll_interval_s
        due = outbox.next_due(work)
        if due is not None:
            # A row already due was offered to claim this turn; if it is still pending it
            # is not claimable yet (answered meanwhile, or its destination at its cap): the
            # end of a send wakes us below, so never spin on it.
            until = (due - self.clock()).total_seconds()
            timeout = min(timeout, until if until > 0 else STUCK_DUE_WAIT_S)
        deadline = time.monotonic() + timeout
        dispatcher.finished.clear()
        while True:
            # While steps are in flight, look every 50 ms whether one finished (a free sender
            # or a destination under its cap again); otherwise sleep on LISTEN alone.
            left = deadline - time.monotonic()
            piece = min(left, 0.05) if dispatcher.busy else left
            if piece <= 0 or any(True for _ in listen.notifies(timeout=piece, stop_after=1)):
                return
            if dispatcher.finished.is_set():
                return


__all__ = ["AlertingService"]
