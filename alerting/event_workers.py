"""Event processor threads: each claims batches of pending events on its own connection.

Event processing used to share the service loop with claiming and sending, one event per
transaction, so a storm's backlog and the senders waited on each other. Each thread here
LISTENs on ``smokewatch_events``, drains the queue in batches (claimed with SKIP LOCKED, so
threads and processes share it without duplicates) and sleeps until the next NOTIFY or the
poll interval. The planned pages' NOTIFY wakes the service loop, which sends them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg

from alerting import metrics
from alerting.processor import EventProcessor
from alerting.settings import AlertingSettings
from core.db import connect, translated_errors
from core.errors import DatabaseUnavailable
from core.pg_channels import EVENTS_CHANNEL, listen_sql

log = logging.getLogger(__name__)
RECONNECT_MIN_S = 0.5
# A reconnect to a stopped server is one refused connection; a longer wait is how late the
# first alarm after the outage is handled (docs/reliability.md).
RECONNECT_MAX_S = 2.0
# The backlog gauges are refreshed this often while events flow (one count(*) query).
MEASURE_EVERY_S = 1.0


class EventWorkers:
    """``alerting_event_processors`` threads running :class:`EventProcessor` batches."""

    def __init__(
        self, settings: AlertingSettings, processor: EventProcessor, stop: threading.Event
    ) -> None:
        self.settings = settings
        self.processor = processor
        self.stop = stop
        self.threads = [
            threading.Thread(target=self._run, args=(n,), name=f"events-{n}", daemon=True)
            for n in range(settings.alerting_event_processors)
        ]
        self._measured_at = 0.0
        self._last_pending = 0

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, index: int) -> None:
        delay = RECONNECT_MIN_S
        while not self.stop.is_set():
            try:
                url = self.settings.database_url
                with translated_errors(), connect(url, autocommit=True) as conn:
                    conn.execute(listen_sql(EVENTS_CHANNEL))
                    delay = RECONNECT_MIN_S
                    self._serve(conn, index)
            except DatabaseUnavailable as exc:
                log.warning("event processor %d: database unavailable (%s)", index, exc)
            except Exception:
                # A bug must not end event processing for good: log it, back off, go on.
                log.exception("event processor %d crashed; restarting", index)
            self.stop.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    def _serve(self, conn: psycopg.Connection[Any], index: int) -> None:
        batch = self.settings.alerting_event_batch
        while not self.stop.is_set():
            handled = self.processor.process_batch(conn, limit=batch)
            for item in handled:
                metrics.EVENTS.labels(item.type).inc()
            if index == 0:
                self._measure(conn, drained=not handled)
            if handled:
                continue  # more may be waiting: claim again before sleeping
            for _ in conn.notifies(timeout=self.settings.alerting_poll_interval_s, stop_after=1):
                pass

    def _measure(self, conn: psycopg.Connection[Any], *, drained: bool) -> None:
        """Refresh the backlog gauges every second, and at once when a backlog has cleared."""
        mono = time.monotonic()
        if mono - self._measured_at < MEASURE_EVERY_S and not (drained and self._last_pending):
            return
        self._measured_at = mono
        self._last_pending = self.processor.measure_backlog(conn).pending


__all__ = ["EventWorkers"]
