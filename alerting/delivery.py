"""Deliver notifications in steps: one claimed step is one attempt on one channel.

A sender thread sends once and hands the row back: delivered, failed on every channel, or
pending again with its next step's due time (a retry after its backoff, the next channel at
once, a rate limit's window). No sender ever sleeps for a backoff, so one slow provider holds
a thread only for its request's timeout.

:class:`Dispatcher` decides what to claim: fire pages first, a share of the senders kept for
them, and per-destination caps, so a hanging provider holds a bounded share of the senders
and another household's page always finds one free. A heartbeat renews the short leases of
the rows in flight; a dead worker's rows come back within one lease and resume at their
persisted channel and attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from alerting import metrics, outbox
from alerting.channels import AttemptResult, destination_of, scheme_of, send_once
from alerting.render import channel_of
from alerting.settings import AlertingSettings
from core.domain import Priority
from core.redact import redact

log = logging.getLogger(__name__)
Row = dict[str, Any]
# Cap on one backoff, so a retry is never put off for long.
MAX_BACKOFF_S = 10.0


class Sender:
    """Runs one step of a claimed notification; shared by the sender threads."""

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

    def step(self, row: Row) -> tuple[str, AttemptResult | None]:
        """One attempt on the row's current channel; (what happened, the attempt's result)."""
        channels: list[str] = row["channels"]
        index, attempt = row["channel_index"], row["channel_attempt"]
        if index >= len(channels):
            # The last attempt of the last channel was interrupted (a dead worker).
            self._finish_failed(row, row.get("last_error") or "every channel tried")
            return "failed", None
        if self.stop.is_set():
            # Shutting down: hand the row back now rather than when the lease expires.
            self._reschedule(row, index, attempt - 1, due=self.clock(), error="worker stopped")
            return "released", None
        url = channels[index]
        limited = self._rate_limited(url, row["priority"] <= Priority.FIRE)
        if limited is not None:
            self._record(row, index, url, AttemptResult("rate_limited", "", 0))
            self._reschedule(row, index, attempt - 1, due=limited, error="rate limited")
            return "deferred", None
        message = row["messages"].get(channel_of(url)) or next(iter(row["messages"].values()))
        result = send_once(
            url,
            title=message.get("title", ""),
            body=message["body"],
            timeout_s=self.settings.alerting_request_timeout_s,
        )
        self._record(row, index, url, result)
        if result.ok:
            self._finish_delivered(row, index, scheme_of(url))
            return "delivered", result
        error = f"{scheme_of(url)}: {result.outcome} {result.response}"
        now = self.clock()
        retry = result.outcome != "unsupported"  # retrying a URL Apprise cannot use is pointless
        if retry and attempt < self.settings.alerting_attempts_per_channel:
            backoff = min(
                self.settings.alerting_backoff_s * 2 ** max(attempt - 1, 0), MAX_BACKOFF_S
            )
            due, next_index, next_attempt = now + timedelta(seconds=backoff), index, attempt
        elif index + 1 < len(channels):
            due, next_index, next_attempt = now, index + 1, 0  # fall back at once
        else:
            self._finish_failed(row, error, attempts=1)
            return "failed", result
        if self.stop.is_set():
            due, error = now, "worker stopped"
        self._reschedule(row, next_index, next_attempt, due=due, attempts=1, error=error)
        return "retry", result

    def _rate_limited(self, url: str, fire: bool) -> datetime | None:
        limit = self.settings.alerting_rate_limits.get(scheme_of(url))
        if limit is None:
            return None
        with self.pool.connection() as conn:
            sent, window = outbox.rate_hit(conn, destination_of(url))  # fires count too
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

    def _reschedule(
        self, row: Row, index: int, attempt: int, *, due: datetime, error: str, attempts: int = 0
    ) -> None:
        with self.pool.connection() as conn:
            ours = outbox.reschedule(
                conn,
                notification_id=row["id"],
                worker=self.worker,
                due_at=due,
                channel_index=index,
                channel_attempt=max(attempt, 0),
                attempts=attempts,
                error=error,
            )
        if not ours:
            log.warning("lost the lease of notification %s", row["id"])

    def _finish_delivered(self, row: Row, index: int, via: str) -> None:
        with self.pool.connection() as conn:
            done = outbox.mark_delivered(
                conn,
                notification_id=row["id"],
                worker=self.worker,
                channel_index=index,
                attempts=1,
                via=via,
            )
        if done is None:
            log.warning("lost the lease of notification %s before it was marked", row["id"])
            return
        metrics.NOTIFICATIONS.labels("delivered").inc()
        if done["wave"] == 1 and done["event_at"] is not None:
            metrics.EVENT_TO_DELIVERY.observe((done["sent_at"] - done["event_at"]).total_seconds())

    def _finish_failed(self, row: Row, error: str, *, attempts: int = 0) -> None:
        with self.pool.connection() as conn:
            outbox.mark_failed(
                conn,
                notification_id=row["id"],
                worker=self.worker,
                attempts=attempts,
                error=error,
                status="failed",
                now=self.clock(),
            )
        metrics.NOTIFICATIONS.labels("failed").inc()
        log.error("notification %s failed on every channel: %s", row["id"], redact(error)[:300])


@dataclass(frozen=True, slots=True)
class Flight:
    """A step being sent: its destination host, when it started, whether it is a fire."""

    host: str
    started: float
    fire: bool


class Dispatcher:
    """Claims steps within the caps and runs them on the sender threads; renews leases."""

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
        self.sender = Sender(settings, pool, worker, clock, stop)
        self.workers = settings.alerting_workers
        self.executor = ThreadPoolExecutor(self.workers, thread_name_prefix="send")
        self.flights: dict[int, Flight] = {}
        # Per host: did its last finished attempt here go through? (absent: never tried)
        self.healthy: dict[str, bool] = {}
        self.lock = threading.Lock()
        self.finished = threading.Event()  # a send finished: the loop may claim again
        self._stop_heartbeat = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)
        self._heartbeat.start()

    @property
    def busy(self) -> int:
        """Steps in flight."""
        with self.lock:
            return len(self.flights)

    def close(self) -> None:
        """Wait for the steps in flight (each bounded by the request timeout), stop beating."""
        self.executor.shutdown(wait=True)
        self._stop_heartbeat.set()
        self._heartbeat.join(timeout=10)

    # --- choosing what to claim --------------------------------------------------------

    def _proven(self, host: str, flights: list[Flight], now: float) -> bool:
        slow = any(
            f.host == host and now - f.started > self.settings.alerting_slow_send_s for f in flights
        )
        return self.healthy.get(host, False) and not slow

    def _limits(self) -> tuple[int, int, Counter[str], set[str], int]:
        """(free senders, free for non-fire, sends per host, unproven hosts, unproven sends)."""
        now = time.monotonic()
        with self.lock:
            flights = list(self.flights.values())
            per_host = Counter(f.host for f in flights)
            known = set(per_host) | set(self.healthy)
            unproven = {h for h in known if not self._proven(h, flights, now)}
        free = self.workers - len(flights)
        reserve = int(self.workers * self.settings.alerting_fire_reserve)
        fire_in_flight = sum(1 for f in flights if f.fire)
        other_free = min(free, self.workers - reserve - (len(flights) - fire_in_flight))
        unproven_sends = sum(n for h, n in per_host.items() if h in unproven)
        return free, max(other_free, 0), per_host, unproven, unproven_sends

    def _blocked(
        self, per_host: Counter[str], unproven: set[str], unproven_sends: int
    ) -> list[str]:
        host_cap = max(1, int(self.workers * self.settings.alerting_host_share))
        unproven_cap = max(1, int(self.workers * self.settings.alerting_unproven_share))
        blocked = {h for h, n in per_host.items() if n >= host_cap}
        blocked |= {
            h for h in unproven if per_host[h] >= self.settings.alerting_unproven_host_sends
        }
        if unproven_sends >= unproven_cap:
            blocked |= unproven  # known bad hosts wait; new ones would take a slot, see below
        return sorted(blocked)

    def _chooser(
        self, limit: int, per_host: Counter[str], unproven: set[str], unproven_sends: int
    ) -> Callable[[list[Row]], list[Row]]:
        host_cap = max(1, int(self.workers * self.settings.alerting_host_share))
        unproven_cap = max(1, int(self.workers * self.settings.alerting_unproven_share))
        counts = Counter(per_host)
        budget = {"unproven": unproven_cap - unproven_sends}

        def choose(candidates: list[Row]) -> list[Row]:
            chosen: list[Row] = []
            for row in candidates:
                if len(chosen) >= limit:
                    break
                host = row["host"]
                known_good = self.healthy.get(host, False) and host not in unproven
                if known_good:
                    if counts[host] >= host_cap:
                        continue
                else:
                    if counts[host] >= self.settings.alerting_unproven_host_sends:
                        continue
                    if budget["unproven"] <= 0:
                        continue
                    budget["unproven"] -= 1
                counts[host] += 1
                chosen.append(row)
            return chosen

        return choose

    def claim_and_send(self, conn: psycopg.Connection[Any]) -> int:
        """Claim what the free senders may take, fire pages first; how many were started."""
        expired = outbox.release_expired(conn)
        if expired:
            metrics.SWEPT.inc(len(expired))
            log.warning("re-queued %d notifications from a lost worker", len(expired))
        started = 0
        for max_priority, fire in ((int(Priority.FIRE), True), (outbox.ANY_PRIORITY, False)):
            free, other_free, per_host, unproven, unproven_sends = self._limits()
            limit = free if fire else other_free
            if limit <= 0:
                continue
            rows = outbox.claim_due(
                conn,
                worker=self.worker,
                now=self.clock(),
                limit=limit,
                lease_s=self.settings.alerting_lease_s,
                per_channel=self.settings.alerting_attempts_per_channel,
                blocked=self._blocked(per_host, unproven, unproven_sends),
                max_priority=max_priority,
                choose=self._chooser(limit, per_host, unproven, unproven_sends),
            )
            for row in rows:
                self._start(row)
            started += len(rows)
        return started

    # --- running steps -------------------------------------------------------------------

    def _start(self, row: Row) -> None:
        flight = Flight(row["host"], time.monotonic(), row["priority"] <= Priority.FIRE)
        with self.lock:
            self.flights[row["id"]] = flight
        future = self.executor.submit(self._run, row)
        future.add_done_callback(lambda _f: self._done(row["id"]))

    def _run(self, row: Row) -> str:
        try:
            outcome, result = self.sender.step(row)
        except Exception:
            # The lease expires and the row resumes after this attempt (it is counted).
            log.exception("sending notification %s crashed", row["id"])
            return "crashed"
        if result is not None:
            with self.lock:
                self.healthy[row["host"]] = result.ok
        return outcome

    def _done(self, notification_id: int) -> None:
        with self.lock:
            self.flights.pop(notification_id, None)
        self.finished.set()

    def _beat(self) -> None:
        every = self.settings.alerting_lease_s / 3
        while not self._stop_heartbeat.wait(every):
            with self.lock:
                ids = list(self.flights)
            if not ids:
                continue
            try:
                with self.pool.connection() as conn:
                    kept = outbox.renew_leases(
                        conn, ids=ids, worker=self.worker, lease_s=self.settings.alerting_lease_s
                    )
            except Exception as exc:
                log.warning("lease heartbeat failed: %s", type(exc).__name__)
                continue
            for lost in set(ids) - kept:
                with self.lock:
                    still = lost in self.flights
                if still:
                    log.warning("lease of notification %s is no longer ours", lost)


__all__ = ["Dispatcher", "Flight", "Sender"]
