"""Turn pending events into incidents, work orders and planned pages, a batch per transaction.

A processor claims up to ``limit`` pending events (fire first, at most one per device so that
a device's events keep their order, SKIP LOCKED so that several processors share the queue)
and handles them in one transaction: fire and heat alarms set-based (alerting/batch.py), the
rest one by one; then the pending rows go, and one NOTIFY wakes the senders. Removal, incident
changes and every planned page commit together (the outbox).

One household's bad data never blocks the others: when the batch fails, it is rolled back to
its savepoint and its events are handled again one at a time, each under its own savepoint;
the one that fails again is pushed behind the others, retried alone, and parked in
``dead_letters`` with its reason after a few tries.

A fire or heat alarm never pages nobody quietly: bad household data is worked around where it
can be (alerting/batch.py: a broken policy override gives way to the defaults, a contact with
bad data is skipped), and an alarm whose household still cannot be paged (no usable person, or
its handling failed) pages the monitoring centre at once, after the transaction, through the
self-watch path (alerting/watch.py), and again if it is finally parked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg

from alerting import metrics
from alerting.backlog import Backlog, measure_event_backlog
from alerting.batch import page_many
from alerting.planner import plan_pages
from alerting.policy import policy_for_site
from alerting.settings import AlertingSettings
from alerting.watch import page_centre
from core.db import load_queries
from core.domain import EventType, Priority
from core.incidents import mark_device_state, open_or_join
from core.pg_channels import NOTIFICATIONS_CHANNEL

log = logging.getLogger(__name__)
Q = load_queries("alerting", "queries.sql")
HQ = load_queries("alerting", "health.sql")
Row = dict[str, Any]
MAX_EVENT_ATTEMPTS = 5

# Events that open a paging incident, and the incident kind they open.
PAGING = {EventType.ALARM: "fire", EventType.HIGH_TEMPERATURE: "heat"}
# Events that open (or close) a maintenance work order.
WORK_OPEN = {
    EventType.TAMPER: "tamper",
    EventType.FAULT: "fault",
    EventType.LOW_BATTERY: "low_battery",
    EventType.OFFLINE: "offline",
}
WORK_CLOSE = {
    EventType.TAMPER_CLEARED: "tamper",
    EventType.FAULT_CLEARED: "fault",
    EventType.BATTERY_OK: "low_battery",
    EventType.ONLINE: "offline",
}


@dataclass(frozen=True, slots=True)
class Handled:
    """What one event did."""

    event_id: int
    type: str
    incident_id: int | None = None
    planned: int = 0
    # Why this fire or heat alarm paged nobody in its household (the centre is paged).
    unpaged: str | None = None


class EventProcessor:
    """Claims and handles pending events."""

    def __init__(self, settings: AlertingSettings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock

    def process_one(self, conn: psycopg.Connection[Any]) -> Handled | None:
        """Handle the most urgent pending event; None when there is none."""
        handled = self.process_batch(conn, limit=1)
        return handled[0] if handled else None

    def process_batch(self, conn: psycopg.Connection[Any], *, limit: int) -> list[Handled]:
        """Claim up to ``limit`` pending events and handle them; [] when there is none."""
        with conn.transaction():
            events = conn.execute(
                Q["claim_events"], {"limit": limit, "now": self.clock()}
            ).fetchall()
            if not events:
                self._drop_orphans(conn)
                return []
            now = self.clock()
            for event in events:
                wait = (now - event["enqueued_at"]).total_seconds()
                metrics.EVENT_WAIT.observe(max(wait, 0.0))
            # An event that failed before is handled alone: it cannot drag a batch down again.
            fresh = [e for e in events if not e["attempts"]]
            handled = {h.event_id: h for h in self._handle_together(conn, fresh)}
            for event in events:
                if event["attempts"]:
                    handled[event["event_id"]] = self._handle_alone(conn, event)
            if any(h.planned for h in handled.values()):
                conn.execute("SELECT pg_notify(%s, 'events')", (NOTIFICATIONS_CHANNEL,))
        # After the commit: a network call must not hold the batch's locks.
        for event in events:
            if (reason := handled[event["event_id"]].unpaged) is not None:
                self._page_centre(conn, event, reason)
        return [handled[e["event_id"]] for e in events]

    def measure_backlog(self, conn: psycopg.Connection[Any]) -> Backlog:
        """Set the pending-events gauges from the table (true during a storm, not every 30 s)."""
        return measure_event_backlog(conn)

    def _drop_orphans(self, conn: psycopg.Connection[Any]) -> None:
        for orphan in conn.execute(Q["orphan_pending"]).fetchall():
            log.warning("dropping pending event %s without an event row", orphan["event_id"])
            conn.execute(Q["done_event"], {"event_id": orphan["event_id"]})

    def _handle_together(
        self, conn: psycopg.Connection[Any], events: Sequence[Row]
    ) -> list[Handled]:
        """The whole batch under one savepoint; on failure, each event under its own."""
        if not events:
            return []
        try:
            with conn.transaction():
                return self._handle(conn, events)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise
        except Exception as exc:
            if len(events) == 1:
                return [self._failed(conn, events[0], exc)]
            log.warning(
                "a batch of %d events failed (%s: %s); handling them one by one",
                len(events),
                type(exc).__name__,
                exc,
            )
            return [self._handle_alone(conn, event) for event in events]

    def _handle_alone(self, conn: psycopg.Connection[Any], event: Row) -> Handled:
        try:
            with conn.transaction():
                return self._handle(conn, [event])[0]
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise
        except Exception as exc:
            return self._failed(conn, event, exc)

    def _failed(self, conn: psycopg.Connection[Any], event: Row, exc: Exception) -> Handled:
        log.error(
            "event %s (%s) of %s failed: %s: %s",
            event["event_id"],
            event["type"],
            event["device_id"],
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        attempts, parked = self._retry_or_park(conn, event, exc)
        unpaged = None
        if event["type"] in PAGING and (attempts == 1 or parked):
            # At once on the first failure (retries take ~31 s), and once more when parked.
            why = f"{type(exc).__name__}: {exc}"[:300]
            unpaged = (
                f"parked after {attempts} attempts ({why})"
                if parked
                else (f"could not be handled ({why}); retrying")
            )
        return Handled(event["event_id"], event["type"], unpaged=unpaged)

    def _handle(self, conn: psycopg.Connection[Any], events: Sequence[Row]) -> list[Handled]:
        """Handle ``events`` (at most one per device) and delete their pending rows."""
        now = self.clock()
        paging = [e for e in events if e["type"] in PAGING]
        handled: dict[int, Handled] = {}
        if paging:
            kinds = [PAGING[EventType(e["type"])] for e in paging]
            results = page_many(conn, paging, kinds, settings=self.settings, now=now)
            for event, (incident_id, planned, opened) in zip(paging, results, strict=True):
                nobody = f"incident {incident_id} has nobody usable to page"
                handled[event["event_id"]] = Handled(
                    event["id"],
                    event["type"],
                    incident_id,
                    planned,
                    nobody if opened and not planned else None,
                )
        for event in events:
            if event["event_id"] not in handled:
                handled[event["event_id"]] = self._handle_other(conn, event, now)
        conn.execute(Q["done_events"], {"event_ids": [e["event_id"] for e in events]})
        return [handled[e["event_id"]] for e in events]

    def _retry_or_park(
        self, conn: psycopg.Connection[Any], event: Row, exc: Exception
    ) -> tuple[int, bool]:
        """Put the event back for a later try, or park it; (attempts so far, parked)."""
        row = conn.execute(
            Q["retry_event"], {"event_id": event["event_id"], "delay": 2.0 ** event["attempts"]}
        ).fetchone()
        attempts = int(row["attempts"]) if row else event["attempts"] + 1
        if row and row["attempts"] >= MAX_EVENT_ATTEMPTS:
            payload = orjson.dumps(
                {"event_id": event["event_id"], "type": event["type"]}, default=str
            )
            conn.execute(
                Q["park_event"],
                {
                    "device_id": event["device_id"],
                    "reason": f"{type(exc).__name__}: {exc}"[:500],
                    "payload": payload,
                },
            )
            conn.execute(Q["done_event"], {"event_id": event["event_id"]})
            metrics.PARKED_EVENTS.labels(event["type"]).inc()
            # A parked fire alarm paged nobody: say so as loudly as the log can.
            level = logging.CRITICAL if event["type"] in PAGING else logging.ERROR
            log.log(
                level,
                "event %s (%s) of %s parked after %d attempts: %s",
                event["event_id"],
                event["type"],
                event["device_id"],
                row["attempts"],
                type(exc).__name__,
            )
            return attempts, True
        return attempts, False

    def _handle_other(self, conn: psycopg.Connection[Any], event: Row, now: datetime) -> Handled:
        """Every event that is not a fire or heat alarm, one at a time (never a storm's bulk)."""
        try:
            kind = EventType(event["type"])
        except ValueError:
            log.warning("unknown event type %r from %s", event["type"], event["device_id"])
            return Handled(event["id"], event["type"])
        if kind in (EventType.ALARM_CLEARED, EventType.SILENCED):
            action = "cleared_by_device" if kind == EventType.ALARM_CLEARED else "silenced"
            changed = mark_device_state(
                conn,
                device_id=event["device_id"],
                kinds=["fire", "heat"],
                action=action,
                event_id=event["id"],
                now=now,
            )
            return Handled(event["id"], event["type"], changed[0]["id"] if changed else None)
        if kind in WORK_OPEN:
            conn.execute(
                Q["open_work_order"],
                {
                    "device_id": event["device_id"],
                    "site_id": event["site_id"],
                    "kind": WORK_OPEN[kind],
                    "now": now,
                    "event_at": event["ts"],
                    "event_id": event["id"],
                    "note": _work_note(event),
                },
            )
            if kind == EventType.TAMPER and event["site_kind"] == "household":
                return self._same_day_call(conn, event, now)
            return Handled(event["id"], event["type"])
        if kind in WORK_CLOSE:
            conn.execute(
                Q["close_work_order"],
                {
                    "device_id": event["device_id"],
                    "kind": WORK_CLOSE[kind],
                    "now": now,
                    "reason": f"{kind.value} reported by device",
                },
            )
            if kind == EventType.ONLINE:
                for outage in conn.execute(
                    HQ["device_back"], {"device_id": event["device_id"], "now": now}
                ):
                    log.info("outage %s closed: its last device is back", outage["id"])
        # test, weak_signal and the rest are stored by ingest and never page.
        return Handled(event["id"], event["type"])

    def _same_day_call(self, conn: psycopg.Connection[Any], event: Row, now: datetime) -> Handled:
        policy = policy_for_site(conn, event["site_id"], self.settings)
        if not policy.tamper_same_day_call:
            return Handled(event["id"], event["type"])
        opened = open_or_join(
            conn,
            device_id=event["device_id"],
            site_id=event["site_id"],
            kind="tamper",
            priority=int(Priority.URGENT),
            event_id=event["id"],
            event_at=event["received_at"],
            repage_after=None,
            now=now,
        )
        if not opened.created:
            return Handled(event["id"], event["type"], opened.incident["id"])
        planned = plan_pages(
            conn,
            incident=opened.incident,
            site=self._site(conn, event["site_id"]),
            room=event["room"],
            policy=policy,
            settings=self.settings,
            now=now,
            purpose="same_day_call",
        )
        return Handled(event["id"], event["type"], opened.incident["id"], len(planned))

    def _page_centre(self, conn: psycopg.Connection[Any], event: Row, reason: str) -> None:
        """Tell the monitoring centre which device and household to call, and why."""
        place = f"site {event['site_id']}"
        try:
            with conn.transaction():
                site = self._site(conn, event["site_id"])
            if site:
                place += f" {site['name']}, {site['address'] or '-'}, {site['phone'] or '-'}"
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise
        except Exception as exc:  # the site row may be the bad data: page without it
            log.warning("site %s unreadable for the centre's page: %s", event["site_id"], exc)
        label = "heat" if event["type"] == EventType.HIGH_TEMPERATURE else "fire"
        problem = (
            f"{label.upper()} ALARM from device {event['device_id']} ({place}, room "
            f"{event['room'] or '-'}, event {event['event_id']}) paged nobody in the household:"
            f" {reason}. Call the household now."
        )
        log.critical("%s", problem)
        metrics.CENTRE_PAGED_ALARMS.labels(
            "parked"
            if reason.startswith("parked")
            else ("failed" if "could not be handled" in reason else "nobody")
        ).inc()
        page_centre(self.settings, problem, self.clock())

    @staticmethod
    def _site(conn: psycopg.Connection[Any], site_id: int | None) -> Row | None:
        if site_id is None:
            return None
        return conn.execute(Q["site"], {"site_id": site_id}).fetchone()


def _work_note(event: Row) -> str | None:
    """What the maintainer should know beyond the kind (a contaminated chamber is a fault)."""
    data = event.get("data")
    if not isinstance(data, dict):
        return None
    detail = data.get("fault") or data.get("reason") or data.get("code")
    return str(detail)[:200] if detail else None
