"""Turn pending events into incidents, work orders and planned pages, one event per transaction.

The event's removal from ``pending_events``, the incident change and every notification it
plans commit together (the outbox), then a NOTIFY on our channel wakes the senders. An event
that fails is pushed behind the others and parked after a few tries, so one bad item never
stalls another household's alarm.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg

from alerting.planner import plan_pages
from alerting.policy import policy_for_site
from alerting.settings import AlertingSettings
from core.db import load_queries
from core.domain import EventType, Priority
from core.incidents import mark_device_state, open_or_join

log = logging.getLogger(__name__)
Q = load_queries("alerting", "queries.sql")
HQ = load_queries("alerting", "health.sql")
Row = dict[str, Any]
NOTIFY_CHANNEL = "smokewatch_notifications"
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


class EventProcessor:
    """Claims and handles pending events."""

    def __init__(self, settings: AlertingSettings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock

    def process_one(self, conn: psycopg.Connection[Any]) -> Handled | None:
        """Handle the most urgent pending event; None when there is none."""
        with conn.transaction():
            event = conn.execute(Q["claim_event"]).fetchone()
            if event is None:
                for orphan in conn.execute(Q["orphan_pending"]).fetchall():
                    log.warning(
                        "dropping pending event %s without an event row", orphan["event_id"]
                    )
                    conn.execute(Q["done_event"], {"event_id": orphan["event_id"]})
                return None
            try:
                with conn.transaction():
                    handled = self._handle(conn, event)
                    conn.execute(Q["done_event"], {"event_id": event["event_id"]})
                    if handled.planned:
                        conn.execute(
                            "SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(handled.incident_id))
                        )
                return handled
            except (psycopg.OperationalError, psycopg.InterfaceError):
                raise
            except Exception as exc:
                log.exception("event %s (%s) failed", event["event_id"], event["type"])
                self._retry_or_park(conn, event, exc)
                return Handled(event["event_id"], event["type"])

    def _retry_or_park(self, conn: psycopg.Connection[Any], event: Row, exc: Exception) -> None:
        row = conn.execute(
            Q["retry_event"], {"event_id": event["event_id"], "delay": 2.0 ** event["attempts"]}
        ).fetchone()
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

    def _handle(self, conn: psycopg.Connection[Any], event: Row) -> Handled:
        now = self.clock()
        try:
            kind = EventType(event["type"])
        except ValueError:
            log.warning("unknown event type %r from %s", event["type"], event["device_id"])
            return Handled(event["id"], event["type"])
        if kind in PAGING:
            return self._page(conn, event, PAGING[kind], now)
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

    def _page(self, conn: psycopg.Connection[Any], event: Row, kind: str, now: datetime) -> Handled:
        policy = policy_for_site(conn, event["site_id"], self.settings)
        opened = open_or_join(
            conn,
            device_id=event["device_id"],
            site_id=event["site_id"],
            kind=kind,
            priority=int(Priority.FIRE),
            event_id=event["id"],
            event_at=event["received_at"],
            repage_after=timedelta(seconds=policy.repage_after_s),
            now=now,
        )
        if not opened.created:
            return Handled(event["id"], event["type"], opened.incident["id"])
        site = self._site(conn, event["site_id"])
        planned = plan_pages(
            conn,
            incident=opened.incident,
            site=site,
            room=event["room"],
            policy=policy,
            settings=self.settings,
            now=now,
        )
        if not planned:
            log.error(
                "incident %s at site %s has nobody to page", opened.incident["id"], event["site_id"]
            )
        return Handled(event["id"], event["type"], opened.incident["id"], len(planned))

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
