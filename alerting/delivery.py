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
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from alerting import metrics, outbox
from alerting.finisher import Finisher
from alerting.render import channel_of
from alerting.settings import AlertingSettings
from core.domain import Priority
from core.notify.channels import AttemptResult, destination_of, scheme_of, send_once
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
        *,
        finisher: Finisher,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.worker = worker
        self.clock = clock
        self.stop = stop
        self.finisher = finisher

    def release(self, row: Row) -> None:
        """Hand a claimed step back unsent, due now at its place (the worker is stopping)."""
        self._reschedule(
            row,
            row["channel_index"],
            row["channel_attempt"] - 1,
            due=self.clock(),
            error="worker stopped",
        )

    def step(self, row: Row) -> tuple[str, AttemptResult | None]:
        """One attempt on the row's current channel; (what happened, the attempt's result)."""
        channels: list[str] = row["channels"]
        index, attempt = row["channel_index"], row["channel_attempt"]
        if index >= len(channels):
            # The last attempt of the last channel was interrupted (a dead worker).
            why = row.get("last_error") or "the worker was lost"
            self._finish_failed(row, f"every channel tried; the last attempt was cut off ({why})")
            return "failed", None
        if self.stop.is_set():
            # Shutting down: hand the row back now rather than when the lease expires.
            self._reschedule(row, index, attempt - 1, due=self.clock(), error="worker stopped")
            return "released", None
        url = channels[index]
        limited = self._rate_limited(url, row["priority"] <= Priority.FIRE)
        if limited is not None:
            attempted = self._attempt(row, index, url, AttemptResult("rate_limited", "", 0))
            self._reschedule(
                row, index, attempt - 1, due=limited, error="rate limited", attempted=attempted
            )
            return "deferred", None
        if row.get("skip"):
            # Its destination is timing out for other pages right now: waiting for another
            # timeout only delays this person's next channel.
            result = AttemptResult("timeout", f"not sent: {row['host']} is not answering", 0)
        else:
            message = row["messages"].get(channel_of(url)) or next(iter(row["messages"].values()))
            result = send_once(
                url,
                title=message.get("title", ""),
                body=message["body"],
                timeout_s=self.settings.alerting_request_timeout_s,
            )
        attempted = self._attempt(row, index, url, result)
        if result.ok:
            self._finish_delivered(attempted, scheme_of(url))
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
            self._finish_failed(row, error, attempted=attempted)
            return "failed", result
        if self.stop.is_set():
            due, error = now, "worker stopped"
        self._reschedule(
            row, next_index, next_attempt, due=due, attempts=1, error=error, attempted=attempted
        )
        return "retry", result

    def _rate_limited(self, url: str, fire: bool) -> datetime | None:
        """When a held step may be tried again, or None to send it now."""
        limit = self.settings.alerting_rate_limits.get(scheme_of(url))
        if limit is None:
            return None
        destination = destination_of(url)
        with self.pool.connection() as conn:
            window = outbox.rate_hit(conn, destination)  # fires count too
            if fire or window.allows(limit):
                return None  # fire alarms ignore our own limits (the provider's still apply)
            outbox.rate_unhit(conn, destination, window)
        return window.retry_at(limit)

    def _attempt(self, row: Row, index: int, url: str, result: AttemptResult) -> Row:
        """The attempt's record, written with the row's next state in one statement."""
        metrics.ATTEMPTS.labels(scheme_of(url), result.outcome).inc()
        return {
            "id": row["id"],
            "channel_index": index,
            "scheme": scheme_of(url),
            "destination": destination_of(url),
            "outcome": result.outcome,
            "response": result.response,
            "elapsed_ms": result.elapsed_ms,
            "worker": self.worker,
            "provider_ref": result.ref,
        }

    def _write(self, write: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        """Run one finishing statement on a pooled connection, once more if it had died.

        The senders' pool does not check a connection at every checkout (a round trip per
        page in a storm): a connection that died while idle fails here instead; the pool
        drops it, the others are checked, and the statement runs again. Every finishing
        statement only changes a row still leased to us, so a second run after a lost reply
        changes nothing (only the attempt's record may be kept twice).
        """
        try:
            with self.pool.connection() as conn:
                return write(conn)
        except psycopg.OperationalError as exc:
            log.warning("finishing a step failed (%s); retrying on a fresh connection", exc)
            self.pool.check()
            with self.pool.connection() as conn:
                return write(conn)

    def _reschedule(
        self,
        row: Row,
        index: int,
        attempt: int,
        *,
        due: datetime,
        error: str,
        attempts: int = 0,
        attempted: Row | None = None,
    ) -> None:
        values: Row = {
            "worker": self.worker,
            "due_at": due,
            "channel_index": index,
            "channel_attempt": max(attempt, 0),
            "attempts": attempts,
            "error": error,
        }
        if attempted is None:
            ours = self._write(
                lambda conn: outbox.reschedule(conn, notification_id=row["id"], **values)
            )
        else:
            ours = self._write(
                lambda conn: outbox.step_rescheduled(
                    conn, record_index=attempted["channel_index"], **(attempted | values)
                )
            )
        if not ours:
            log.warning("lost the lease of notification %s", row["id"])

    def _finish_delivered(self, attempted: Row, via: str) -> None:
        # Written in a batch by the finisher's thread: this sender is free for the next page.
        self.finisher.delivered(attempted | {"via": via})

    def _finish_failed(self, row: Row, error: str, *, attempted: Row | None = None) -> None:
        now = self.clock()
        if attempted is None:  # no attempt this step: the last one was cut off
            self._write(
                lambda conn: outbox.mark_failed(
                    conn,
                    notification_id=row["id"],
                    worker=self.worker,
                    attempts=0,
                    error=error,
                    status="failed",
                    now=now,
                )
            )
        else:
            self._write(lambda conn: outbox.step_failed(conn, error=error, now=now, **attempted))
        metrics.NOTIFICATIONS.labels("failed").inc()
        log.error("notification %s failed on every channel: %s", row["id"], redact(error)[:300])


@dataclass(frozen=True, slots=True)
class View:
    """What the senders hold right now, as the claim sees it."""

    free: int
    other_free: int
    per_host: Counter[str]
    ahead: Counter[str]  # steps claimed ahead, per host
    ahead_room: int
    known: set[str]
    slow: set[str]
    budget: int
    host_cap: int
    new_cap: int


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
        self.stop = stop
        self.finisher = Finisher(pool, worker)
        self.sender = Sender(settings, pool, worker, clock, stop, finisher=self.finisher)
        self.workers = settings.alerting_workers
        # How many of the senders one host that answers well may hold at once.
        self.host_cap = max(1, int(self.workers * settings.alerting_host_share))
        self.executor = ThreadPoolExecutor(self.workers, thread_name_prefix="send")
        self.flights: dict[int, Flight] = {}
        # Claimed ahead of a free sender (alerting_claim_ahead), oldest first.
        self.ahead: deque[Row] = deque()
        # Per host: the outcome of its last finished attempt here (absent: never answered).
        self.last: dict[str, str] = {}
        self.lock = threading.Lock()
        self.finished = threading.Event()  # a send finished: the loop may claim again
        # One claim at a time (the loop's, or a finished send's refill), so two claims never
        # both count the same free sender.
        self._claiming = threading.Lock()
        self._stop_heartbeat = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)
        self._heartbeat.start()

    @property
    def busy(self) -> int:
        """Steps in flight or claimed ahead."""
        with self.lock:
            return len(self.flights) + len(self.ahead)

    def close(self) -> None:
        """Hand back the steps claimed ahead, wait for those in flight (each bounded by the
        request timeout), stop beating."""
        with self._claiming, self.lock:  # no claim adds to the queue from here on
            waiting = list(self.ahead)
            self.ahead.clear()
        for row in waiting:
            try:
                self.sender.release(row)
            except Exception as exc:  # its lease expires instead
                log.warning("handing back notification %s failed: %s", row["id"], exc)
        self.executor.shutdown(wait=True)
        self.finisher.close()  # under their leases until written: the heartbeat goes on
        self._stop_heartbeat.set()
        self._heartbeat.join(timeout=10)

    # --- choosing what to claim --------------------------------------------------------
    #
    # Destinations (hosts) are, as this worker has seen them:
    # - known: the last attempt got an answer (delivered, or refused fast such as HTTP 500):
    #   up to alerting_host_share of the senders each;
    # - new: never answered here yet, and slow: the last attempt timed out or a send has run
    #   longer than alerting_slow_send_s. New and slow sends together hold at most
    #   alerting_unproven_share of the senders (a hanging provider's bounded share); a new
    #   host gets alerting_unproven_host_sends at once; a slow host gets one probing send,
    #   and its other steps are skipped (counted as timed out, no request) so those people
    #   move on to their next channel instead of queueing behind a provider that is down (never
    #   on a person's last channel: that one is always really tried).

    def _view(self) -> View:
        now = time.monotonic()
        with self.lock:
            flights = list(self.flights.values())
            last = dict(self.last)
            ahead = Counter(row["host"] for row in self.ahead)
        per_host = Counter(f.host for f in flights)
        slow = {h for h, outcome in last.items() if outcome == "timeout"}
        slow |= {f.host for f in flights if now - f.started > self.settings.alerting_slow_send_s}
        unproven_sends = sum(n for h, n in per_host.items() if h in slow or h not in last)
        reserve = int(self.workers * self.settings.alerting_fire_reserve)
        fire_in_flight = sum(1 for f in flights if f.fire)
        free = self.workers - len(flights)
        other_free = min(free, self.workers - reserve - (len(flights) - fire_in_flight))
        unproven_cap = max(1, int(self.workers * self.settings.alerting_unproven_share))
        return View(
            free=free,
            other_free=max(other_free, 0),
            per_host=per_host,
            ahead=ahead,
            ahead_room=max(0, self.settings.alerting_claim_ahead - sum(ahead.values())),
            known={h for h in last if h not in slow},
            slow=slow,
            budget=unproven_cap - unproven_sends,
            host_cap=self.host_cap,
            new_cap=self.settings.alerting_unproven_host_sends,
        )

    @staticmethod
    def _filters(view: View, room: int) -> tuple[list[str], list[str] | None]:
        """(hosts to leave out, hosts to take only from or None) for the claim query; ``room``
        steps may be claimed ahead of a known host's share."""
        blocked = {
            h for h in view.known if view.per_host[h] + view.ahead[h] >= view.host_cap + room
        }
        blocked |= {
            h
            for h, n in view.per_host.items()
            if h not in view.known and h not in view.slow and n >= view.new_cap
        }
        if view.budget > 0:
            return sorted(blocked), None
        # No room for new hosts: look only at known ones (and slow ones, to skip them), so
        # a queue of new destinations never hides a page to a provider that answers.
        # '' is a row with no channel left (its last attempt was cut off): it only fails.
        return sorted(blocked), sorted((view.known | view.slow | {""}) - blocked)

    @staticmethod
    def _chooser(view: View, limit: int, room: int) -> Callable[[list[Row]], list[Row]]:
        counts = Counter(view.per_host) + view.ahead
        budget = [view.budget]
        ahead_room = [room]

        def choose(candidates: list[Row]) -> list[Row]:
            chosen: list[Row] = []
            for row in candidates:
                if len(chosen) >= limit:
                    break
                host = row["host"]
                if host in view.known:
                    if counts[host] >= view.host_cap:
                        # At its share: claimed ahead, to start when one of its sends ends.
                        if ahead_room[0] <= 0:
                            continue
                        ahead_room[0] -= 1
                elif host in view.slow:
                    if counts[host] >= 1 or budget[0] <= 0:
                        if row["last_channel"]:
                            continue  # a person's last channel is always really tried
                        row["skip"] = True  # a probe is out (or no room): do not wait for it
                        chosen.append(row)
                        continue
                    budget[0] -= 1
                else:
                    if counts[host] >= view.new_cap or budget[0] <= 0:
                        continue
                    budget[0] -= 1
                counts[host] += 1
                chosen.append(row)
            return chosen

        return choose

    def claim_and_send(self, conn: psycopg.Connection[Any]) -> int:
        """Claim what the free senders may take, fire pages first; how many were started."""
        with self._claiming:
            expired = outbox.release_expired(conn)
            if expired:
                metrics.SWEPT.inc(len(expired))
                log.warning("re-queued %d notifications from a lost worker", len(expired))
            return self._claim(conn)

    def _refill(self) -> None:
        """A send finished: claim the next steps at once, on the sender's own thread.

        Waiting for the loop's next turn left a freed sender idle for up to a turn (a poll
        and four queries); in a storm to one gateway at its cap, every finished send frees
        exactly one place, so the claims came in that rhythm (docs/benchmarks.md). If a claim
        is already running, it or the loop's next turn takes the place instead.
        """
        if self.stop.is_set() or not self._claiming.acquire(blocking=False):
            return
        try:
            with self.pool.connection() as conn:
                self._claim(conn)
        except Exception as exc:  # the loop claims again on its next turn
            log.warning("claiming after a send failed: %s", type(exc).__name__)
        finally:
            self._claiming.release()

    def _claim(self, conn: psycopg.Connection[Any]) -> int:
        started = 0
        fire = int(Priority.FIRE)
        # (lowest, highest priority, fire pass): the second pass starts after the fire rows,
        # which the first already offered. In a storm every fire page goes to one or two
        # SMS gateways at their cap; walking their thousands of rows again on every turn only
        # to find them blocked cost more than the sends (docs/benchmarks.md).
        passes = ((outbox.MOST_URGENT, fire, True), (fire + 1, outbox.ANY_PRIORITY, False))
        for min_priority, max_priority, is_fire in passes:
            view = self._view()
            # Fire pages may be claimed ahead; the rest only for the senders free for them.
            room = view.ahead_room if is_fire else 0
            limit = (view.free if is_fire else view.other_free) + room
            if limit <= 0:
                continue
            blocked, only = self._filters(view, room)
            rows = outbox.claim_due(
                conn,
                worker=self.worker,
                now=self.clock(),
                limit=limit,
                lease_s=self.settings.alerting_lease_s,
                per_channel=self.settings.alerting_attempts_per_channel,
                blocked=blocked,
                only=only,
                max_priority=max_priority,
                min_priority=min_priority,
                choose=self._chooser(view, limit, room),
            )
            with self.lock:
                self.ahead.extend(rows)
            self._start_ahead()
            started += len(rows)
        return started

    # --- running steps -------------------------------------------------------------------

    def _start_ahead(self) -> None:
        """Start the claimed steps that a free sender and their host's share allow, oldest
        first; the others wait for a send to their host to end."""
        starting: list[Row] = []
        with self.lock:
            free = self.workers - len(self.flights)
            if free <= 0 or not self.ahead:
                return
            per_host = Counter(f.host for f in self.flights.values())
            waiting: deque[Row] = deque()
            now = time.monotonic()
            for row in self.ahead:
                host = row["host"]
                # Only a host that answers well is held at its share here; the claim
                # already kept new and slow hosts within their budgets.
                held = self.last.get(host) not in (None, "timeout") and not row.get("skip")
                if free > 0 and not (held and per_host[host] >= self.host_cap):
                    per_host[host] += 1
                    free -= 1
                    fire = row["priority"] <= Priority.FIRE
                    self.flights[row["id"]] = Flight(host, now, fire)
                    starting.append(row)
                else:
                    waiting.append(row)
            self.ahead = waiting
        for row in starting:
            self._submit(row)

    def _submit(self, row: Row) -> None:
        future = self.executor.submit(self._run, row)
        future.add_done_callback(lambda _f: self._done(row["id"]))

    def _run(self, row: Row) -> str:
        try:
            outcome, result = self.sender.step(row)
        except Exception:
            # The lease expires and the row resumes after this attempt (it is counted).
            log.exception("sending notification %s crashed", row["id"])
            return "crashed"
        if result is not None and not row.get("skip"):
            with self.lock:
                self.last[row["host"]] = result.outcome
        return outcome

    def _done(self, notification_id: int) -> None:
        with self.lock:
            self.flights.pop(notification_id, None)
        self.finished.set()
        self._start_ahead()
        self._refill()

    def _beat(self) -> None:
        every = self.settings.alerting_lease_s / 3
        while not self._stop_heartbeat.wait(every):
            with self.lock:
                ids = [*self.flights, *(row["id"] for row in self.ahead)]
            ids += self.finisher.finishing()
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
            lost = set(ids) - kept
            if not lost:
                continue
            with self.lock:  # a step finished meanwhile is not lost
                held = {*self.flights, *(row["id"] for row in self.ahead)}
            held.update(self.finisher.finishing())
            for notification_id in sorted(lost & held):
                log.warning("lease of notification %s is no longer ours", notification_id)


__all__ = ["Dispatcher", "Flight", "Sender"]
