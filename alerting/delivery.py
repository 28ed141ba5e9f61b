"""Deliver one claimed notification: each channel in order, retries with backoff, fallback.

Runs in a sender thread. Before every attempt the lease is extended and the incident
re-read: once someone acknowledged, remaining retries stop at once. Every attempt is
recorded with the provider's answer. Our own per-destination rate limits defer low-priority
messages; fire alarms are never held by them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from psycopg_pool import ConnectionPool

from alerting import metrics, outbox
from alerting.channels import AttemptResult, destination_of, scheme_of, send_once
from alerting.render import channel_of
from alerting.settings import AlertingSettings
from core.domain import Priority

log = logging.getLogger(__name__)
Row = dict[str, Any]
# Cap on one backoff pause, so a notification never holds a sender for long.
MAX_BACKOFF_S = 10.0


class Sender:
    """Sends claimed notifications; one instance shared by the sender threads."""

    def __init__(
        self,
        settings: AlertingSettings,
        pool: ConnectionPool,
        worker: str,
        clock: Callable[[], datetime],
        stop: threading.Event,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.worker = worker
        self.clock = clock
        self.stop = stop

    def deliver(self, row: Row) -> str:
        """Try every channel; return the final status."""
        attempts = 0
        fire = row["priority"] <= Priority.FIRE
        last_error = "no channel"
        for index, url in enumerate(row["channels"]):
            shape = channel_of(url)
            message = row["messages"].get(shape) or next(iter(row["messages"].values()))
            for attempt in range(self.settings.alerting_attempts_per_channel):
                if self.stop.is_set():
                    # Shutting down: hand the row back now rather than when the lease expires.
                    with self.pool.connection() as conn:
                        outbox.defer(
                            conn,
                            notification_id=row["id"],
                            worker=self.worker,
                            due_at=self.clock(),
                            attempts=attempts,
                            error="worker stopped",
                        )
                    return "released"
                still_ours, incident_status = self._extend(row["id"])
                if not still_ours:
                    log.warning("lost the lease of notification %s", row["id"])
                    return "lost"
                if self._answered(row, incident_status):
                    self._finish_failed(row, attempts, "someone answered", "cancelled")
                    return "cancelled"
                limited = self._rate_limited(url, fire)
                if limited is not None:
                    self._record(row, index, url, AttemptResult("rate_limited", "", 0))
                    with self.pool.connection() as conn:
                        outbox.defer(
                            conn,
                            notification_id=row["id"],
                            worker=self.worker,
                            due_at=limited,
                            attempts=attempts,
                            error="rate limited",
                        )
                    return "deferred"
                result = send_once(
                    url,
                    title=message.get("title", ""),
                    body=message["body"],
                    timeout_s=self.settings.alerting_request_timeout_s,
                )
                attempts += 1
                self._record(row, index, url, result)
                if result.ok:
                    self._finish_delivered(row, index, attempts, scheme_of(url))
                    return "delivered"
                last_error = f"{scheme_of(url)}: {result.outcome} {result.response}"[:500]
                if result.outcome == "unsupported":
                    break  # retrying a URL Apprise cannot use is pointless: fall back now
                if attempt + 1 < self.settings.alerting_attempts_per_channel:
                    self.stop.wait(
                        min(self.settings.alerting_backoff_s * 2**attempt, MAX_BACKOFF_S)
                    )
        self._finish_failed(row, attempts, last_error, "failed")
        return "failed"

    @staticmethod
    def _answered(row: Row, incident_status: str | None) -> bool:
        if row["purpose"] in ("page", "same_day_call"):
            return incident_status not in (None, "triggered")
        if row["purpose"] == "repage":
            return incident_status == "resolved"
        return False

    def _extend(self, notification_id: int) -> tuple[bool, str | None]:
        with self.pool.connection() as conn:
            return outbox.extend_lease(
                conn,
                notification_id=notification_id,
                worker=self.worker,
                lease_s=self.settings.alerting_lease_s,
            )

    def _rate_limited(self, url: str, fire: bool) -> datetime | None:
        limit = self.settings.alerting_rate_limits.get(scheme_of(url))
        if limit is None:
            return None
        with self.pool.connection() as conn:
            sent, window = outbox.rate_hit(conn, destination_of(url))
        if sent <= limit or fire:
            return None  # fire alarms ignore our own limits (the provider's still apply)
        return window + timedelta(minutes=1)

    def _record(self, row: Row, index: int, url: str, result: AttemptResult) -> None:
        metrics.ATTEMPTS.labels(scheme_of(url), result.outcome).inc()
        with self.pool.connection() as conn:
            outbox.record_attempt(
                conn,
                id=row["id"],
                channel_index=index,
                scheme=scheme_of(url),
                destination=destination_of(url),
                outcome=result.outcome,
                response=result.response,
                elapsed_ms=result.elapsed_ms,
                worker=self.worker,
            )

    def _finish_delivered(self, row: Row, index: int, attempts: int, via: str) -> None:
        with self.pool.connection() as conn:
            done = outbox.mark_delivered(
                conn,
                notification_id=row["id"],
                worker=self.worker,
                channel_index=index,
                attempts=attempts,
                via=via,
            )
        metrics.NOTIFICATIONS.labels("delivered").inc()
        if done and done["wave"] == 1 and done["event_at"] is not None:
            metrics.EVENT_TO_DELIVERY.observe((done["sent_at"] - done["event_at"]).total_seconds())

    def _finish_failed(self, row: Row, attempts: int, error: str, status: str) -> None:
        with self.pool.connection() as conn:
            outbox.mark_failed(
                conn,
                notification_id=row["id"],
                worker=self.worker,
                attempts=attempts,
                error=error,
                status=status,
                now=self.clock(),
            )
        metrics.NOTIFICATIONS.labels(status).inc()
        if status == "failed":
            log.error("notification %s failed on every channel: %s", row["id"], error)
