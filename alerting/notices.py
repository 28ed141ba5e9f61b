"""Tell everyone paged that someone answered, and later how it ended (issue 14 item 5).

The lifecycle (core/incidents) only records the answer and the closing; housekeeping here
finds incidents whose notices are not planned yet (``answer_notice_at``, ``resolve_notice_at``)
and writes one short message per person a page of the incident reached: who answered and
when, then the outcome. Both only for the kinds in the policy's ``answer_notices`` (fire and
heat by default). A person who answered is not told about their own answer; when the incident
was closed before the first message went out, only the closing one is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.types.json import Jsonb

from alerting.planner import PQ, Q, site_values
from alerting.policy import policy_for_site
from alerting.render import channel_of, event_label, outcome_label, person_label, render_all
from alerting.rounds import each_isolated, incident_place
from alerting.settings import AlertingSettings
from core.incidents import log_action
from core.messages import phrase

Row = dict[str, Any]
# Pages whose recipients hear the follow-up (not digests, not other notices).
PAGED_PURPOSES = ["page", "repage", "same_day_call", "escalation"]


def plan_notices(
    conn: psycopg.Connection[Any], *, settings: AlertingSettings, now: datetime
) -> int:
    """Plan due "answered" and "closed" messages; how many were written."""

    def answered(incident: Row) -> int:
        conn.execute(PQ["mark_answer_noticed"], {"id": incident["id"], "now": now})
        if incident["resolved_at"] is not None:  # the closing message says it all
            return 0
        return _tell(conn, incident, "answered", settings, now)

    def closed(incident: Row) -> int:
        conn.execute(PQ["mark_resolve_noticed"], {"id": incident["id"], "now": now})
        return _tell(conn, incident, "closed", settings, now)

    planned = each_isolated(conn, PQ["due_answer_notices"], {}, answered, "'answered' messages")
    return planned + each_isolated(conn, PQ["due_resolve_notices"], {}, closed, "'closed' messages")


def _answerer(conn: psycopg.Connection[Any], incident: Row, locale: str) -> str:
    """Who answered: "王小明(家属)" for a link-holder, "监控中心" for an operator."""
    if incident["ack_contact_id"] is not None:
        contact = conn.execute(PQ["contact"], {"id": incident["ack_contact_id"]}).fetchone()
        if contact is not None:
            return person_label(contact["name"], contact["role"], locale)
    return phrase("message.centre", locale)


def _tell(
    conn: psycopg.Connection[Any],
    incident: Row,
    what: str,
    settings: AlertingSettings,
    now: datetime,
) -> int:
    policy = policy_for_site(conn, incident["site_id"], settings)
    if incident["kind"] not in policy.answer_notices:
        return 0
    people = conn.execute(
        PQ["paged_contacts"], {"id": incident["id"], "purposes": PAGED_PURPOSES}
    ).fetchall()
    if what == "answered":  # the person who answered knows
        people = [p for p in people if p["id"] != incident["ack_contact_id"]]
    site, room = incident_place(conn, incident)
    tz = ZoneInfo(settings.timezone)
    at = incident["acknowledged_at"] if what == "answered" else incident["resolved_at"]
    planned = 0
    for person in people:
        locale = person["locale"] or settings.alerting_locale
        values = site_values(site, room, locale, settings, at)
        values |= {
            "event": event_label(incident["kind"], locale),
            "who": _answerer(conn, incident, locale),
            "time": at.astimezone(tz).strftime("%H:%M"),
            "outcome": outcome_label(
                incident["outcome"] or "", incident["false_alarm_cause"], locale
            ),
        }
        channels = _quiet_channels(list(person["channels"]))
        messages = render_all(what, locale, values, channels)
        if enqueue_notice(conn, incident=incident, contact_id=person["id"], what=what,
                          channels=channels, messages=messages, now=now):  # fmt: skip
            planned += 1
    log_action(
        conn,
        incident_id=incident["id"],
        action="notified",
        at=now,
        detail={"notice": what, "planned": planned},
    )
    return planned


def _quiet_channels(channels: list[str]) -> list[str]:
    """A text, not a call: voice only for a person who has nothing else."""
    texts = [u for u in channels if channel_of(u) != "voice"]
    return texts or channels


def enqueue_notice(
    conn: psycopg.Connection[Any],
    *,
    incident: Row,
    contact_id: int,
    what: str,
    channels: list[str],
    messages: dict[str, dict[str, str]],
    now: datetime,
) -> bool:
    """Write one notice to the outbox (the planner's insert, purpose ``notice``); once each."""
    title = next(iter(messages.values()))["title"] if messages else ""
    row = conn.execute(
        Q["plan_notification"],
        {
            "purpose": "notice",
            "incident_id": incident["id"],
            "contact_id": contact_id,
            "wave": 0,
            "round": 0,
            "priority": incident["priority"],
            "due_at": now,
            "channels": channels,
            "messages": Jsonb(messages),
            "title": title,
            "ack_url": None,
            "event_id": incident["first_event_id"],
            "event_at": incident["first_event_at"],
            "dedupe_key": f"notice:{what}:{incident['id']}:{contact_id}",
        },
    ).fetchone()
    return row is not None
