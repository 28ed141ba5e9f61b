"""Paging until a person answers: rounds while nobody has, supervisors while the centre has not.

Both are state on the incident row (``round_at``, ``escalate_at``), set when the incident opens
(alerting/planner.py) and cleared by the lifecycle when someone answers (core/incidents), so a
restart forgets nothing. Housekeeping plans each one shortly before it is due (``LOOKAHEAD_S``)
with its exact due time, then moves the row to the next, on growing but bounded gaps
(``EscalationPolicy.repeat_intervals_s``: 5, 10, 15 min, then every 15 min by default).

- A round pages wave 1, the last wave that has anybody in it and the duty desk (a person once),
  voice first where the contact has a voice channel: a ringing phone wakes people a text does
  not. Rounds go on while the incident is ``triggered``; only ``max_rounds`` caps them.
- An escalation pages the monitoring centre's supervisors (``supervisor_roles`` on the site's
  organisations, usually the centre's own) while no operator has acknowledged on the board,
  even when someone in the field is on the way: the centre must verify and call 119.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from alerting.planner import PQ, Q, plan_one, wave_contacts
from alerting.policy import DUTY_DESK_ROLE, EscalationPolicy, policy_for_site
from alerting.render import channel_of, person_label
from alerting.settings import AlertingSettings
from core.incidents import log_action
from core.messages import phrase

log = logging.getLogger(__name__)
Row = dict[str, Any]
# Plan a round or an escalation this long before it is due; housekeeping runs every few seconds.
LOOKAHEAD_S = 60.0
# Round numbers of the rounds start above those of the quick repeats (``repeat_last`` <= 20).
ROUND_BASE = 20


def voice_first(channels: list[str]) -> list[str]:
    """The contact's Apprise URLs with voice calls first, the rest in their order."""
    voice = [u for u in channels if channel_of(u) == "voice"]
    return voice + [u for u in channels if u not in voice]


def incident_place(conn: psycopg.Connection[Any], incident: Row) -> tuple[Row | None, str | None]:
    site = (
        conn.execute(Q["site"], {"site_id": incident["site_id"]}).fetchone()
        if incident["site_id"]
        else None
    )
    room = conn.execute(PQ["device_room"], {"device_id": incident["device_id"]}).fetchone()
    return site, (room["room"] if room else None)


def _round_people(
    conn: psycopg.Connection[Any], site: Row | None, policy: EscalationPolicy
) -> list[tuple[int, Row]]:
    """(wave number, contact) for one round: wave 1, the last staffed wave, the duty desk."""
    people = [wave_contacts(conn, site=site, roles=roles) for roles in policy.wave_roles]
    staffed = [i for i, p in enumerate(people) if p]
    desk_wave = next(
        (i for i, roles in enumerate(policy.wave_roles) if DUTY_DESK_ROLE in roles),
        len(policy.wave_roles) - 1,
    )
    groups = [(0, people[0])]
    if staffed:
        groups.append((staffed[-1], people[staffed[-1]]))
    groups.append((desk_wave, wave_contacts(conn, site=site, roles=(DUTY_DESK_ROLE,))))
    chosen: dict[int, tuple[int, Row]] = {}
    for wave, contacts in groups:
        for contact in contacts:
            chosen.setdefault(contact["id"], (wave + 1, contact))
    return list(chosen.values())


def each_isolated(
    conn: psycopg.Connection[Any],
    query: str,
    params: dict[str, Any],
    plan: Callable[[Row], int],
    what: str,
) -> int:
    """Run ``plan`` for each row of ``query`` (locked) in its own savepoint: one household's
    bad data never stalls another's page; the failed one is logged and retried next time."""
    planned = 0
    with conn.transaction():
        for incident in conn.execute(query, params).fetchall():
            try:
                with conn.transaction():
                    planned += plan(incident)
            except (psycopg.OperationalError, psycopg.InterfaceError):
                raise
            except Exception:
                log.exception("planning %s of incident %s failed", what, incident["id"])
    return planned


def plan_due_rounds(
    conn: psycopg.Connection[Any], *, settings: AlertingSettings, now: datetime
) -> int:
    """Plan the rounds of unanswered fires due within ``LOOKAHEAD_S``; pages planned."""
    until = now + timedelta(seconds=LOOKAHEAD_S)

    def plan(incident: Row) -> int:
        policy = policy_for_site(conn, incident["site_id"], settings)
        due = incident["round_at"]
        done = incident["round_count"] + 1
        capped = policy.max_rounds is not None and done >= policy.max_rounds
        next_at = None if capped else due + timedelta(seconds=policy.round_gap_s(done))
        conn.execute(PQ["bump_round"], {"id": incident["id"], "next_at": next_at})
        site, room = incident_place(conn, incident)
        people = _round_people(conn, site, policy)
        rows = 0
        for wave, contact in people:
            row = plan_one(
                conn,
                incident=incident,
                site=site,
                room=room,
                contact=contact | {"channels": voice_first(list(contact["channels"]))},
                others=[c for _, c in people if c["id"] != contact["id"]],
                kind=incident["kind"],
                purpose="page",
                wave=wave,
                round_=ROUND_BASE + done,
                due=due,
                settings=settings,
                now=now,
            )
            rows += row is not None
        log_action(
            conn,
            incident_id=incident["id"],
            action="round",
            at=now,
            detail={"round": done, "due_at": due.isoformat(), "planned": rows},
        )
        return rows

    return each_isolated(conn, PQ["due_rounds"], {"until": until}, plan, "a round")


def plan_due_escalations(
    conn: psycopg.Connection[Any], *, settings: AlertingSettings, now: datetime
) -> int:
    """Page the supervisors of fires no operator acknowledged, due within ``LOOKAHEAD_S``."""
    until = now + timedelta(seconds=LOOKAHEAD_S)

    def plan(incident: Row) -> int:
        policy = policy_for_site(conn, incident["site_id"], settings)
        due = incident["escalate_at"]
        done = incident["escalation_count"] + 1
        capped = policy.max_escalations is not None and done >= policy.max_escalations
        next_at = None if capped else due + timedelta(seconds=policy.round_gap_s(done - 1))
        conn.execute(PQ["bump_escalation"], {"id": incident["id"], "next_at": next_at})
        site, room = incident_place(conn, incident)
        supervisors = wave_contacts(conn, site=site, roles=policy.supervisor_roles)
        rows = 0
        for contact in supervisors:
            locale = contact["locale"] or settings.alerting_locale
            row = plan_one(
                conn,
                incident=incident,
                site=site,
                room=room,
                contact=contact | {"channels": voice_first(list(contact["channels"]))},
                others=[],
                kind="escalation",
                purpose="escalation",
                wave=len(policy.wave_roles) + 1,
                round_=done,
                due=due,
                settings=settings,
                now=now,
                extra=_escalation_values(conn, incident, locale, due, settings),
            )
            rows += row is not None
        if not supervisors:
            log.error("incident %s: no supervisor to escalate to", incident["id"])
        log_action(
            conn,
            incident_id=incident["id"],
            action="escalated",
            at=now,
            detail={"escalation": done, "due_at": due.isoformat(), "planned": rows},
        )
        return rows

    return each_isolated(conn, PQ["due_escalations"], {"until": until}, plan, "an escalation")


def _escalation_values(
    conn: psycopg.Connection[Any],
    incident: Row,
    locale: str,
    due: datetime,
    settings: AlertingSettings,
) -> dict[str, str]:
    """How long the board has waited, and who in the field answered (if anyone)."""
    minutes = max(1, round((due - incident["opened_at"]).total_seconds() / 60))
    answered = phrase("message.nobody", locale)
    if incident["field_acknowledged_at"] is not None:
        who = incident["field_acknowledged_by"] or ""
        if incident["field_contact_id"] is not None:
            contact = conn.execute(PQ["contact"], {"id": incident["field_contact_id"]}).fetchone()
            if contact is not None:
                who = person_label(contact["name"], contact["role"], locale)
        at = incident["field_acknowledged_at"].astimezone(ZoneInfo(settings.timezone))
        answered = f"{who} {at:%H:%M}"
    return {"minutes": str(minutes), "answered": answered}
