"""Plan every page of an incident in the transaction that opened it (the outbox).

All waves are written at once with their due times; acknowledging cancels the pending ones,
so a crash between waves can never forget wave 2, and nothing depends on a timer in memory.
A fire also gets the time of its first round and of its supervisors' escalation on the
incident row (``round_at``, ``escalate_at``); alerting/rounds.py plans those when they are due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.types.json import Jsonb

from alerting.policy import PAGING_KINDS, SAME_DAY_CALL_ROLES, EscalationPolicy
from alerting.quiet import release_time
from alerting.render import event_label, person_label, render_all
from alerting.settings import AlertingSettings
from core.db import load_queries
from core.incidents import log_action, make_ack_token
from core.messages import phrase

log = logging.getLogger(__name__)
Q = load_queries("alerting", "queries.sql")
PQ = load_queries("alerting", "paging.sql")
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Planned:
    """One row written to the outbox."""

    notification_id: int
    contact_id: int
    wave: int
    due_at: datetime


def site_values(
    site: Row | None, room: str | None, locale: str, settings: AlertingSettings, at: datetime
) -> dict[str, str]:
    """Template values that describe the place and the person."""
    site = site or {}
    key_holder = " ".join(
        x for x in (site.get("key_holder_name"), site.get("key_holder_phone")) if x
    )
    return {
        "site_name": site.get("name") or "",
        "address": site.get("address") or "",
        "room": room or "",
        "resident": site.get("resident_name") or site.get("name") or "",
        "situation": phrase("message.list", locale).join(site.get("resident_situation") or []),
        "site_phone": site.get("phone") or "",
        "key_holder": key_holder,
        "time": at.astimezone(ZoneInfo(settings.timezone)).strftime("%m-%d %H:%M"),
    }


def wave_contacts(
    conn: psycopg.Connection[Any], *, site: Row | None, roles: tuple[str, ...]
) -> list[Row]:
    """Active contacts with channels for these roles at the site or above it."""
    if site is None:
        return []
    return list(
        conn.execute(
            Q["contacts_for_roles"],
            {"roles": list(roles), "site_id": site["id"], "org_id": site["org_id"]},
        )
    )


def plan_pages(
    conn: psycopg.Connection[Any],
    *,
    incident: Row,
    site: Row | None,
    room: str | None,
    policy: EscalationPolicy,
    settings: AlertingSettings,
    now: datetime,
    purpose: str = "page",
    template: str | None = None,
    round_base: int = 0,
) -> list[Planned]:
    """Write the incident's waves (and repeats of the last) to the outbox."""
    rows = page_rows(
        incident=incident,
        site=site,
        room=room,
        policy=policy,
        settings=settings,
        now=now,
        contacts=lambda roles: wave_contacts(conn, site=site, roles=roles),
        purpose=purpose,
        template=template,
        round_base=round_base,
    )
    if purpose == "page" and incident["kind"] in PAGING_KINDS:
        schedule_rounds(conn, [incident["id"]], policy, now)
    planned: list[Planned] = []
    for row in rows:
        done = _insert_one(conn, row, now)
        if done is not None:
            planned.append(done)
    return planned


def schedule_rounds(
    conn: psycopg.Connection[Any],
    incident_ids: list[int],
    policy: EscalationPolicy,
    now: datetime,
) -> None:
    """Rounds start one gap after the last planned wave; supervisors after their wait.

    For many incidents of one policy at once (a storm's batch): one statement.
    """
    if not incident_ids:
        return
    last_delay_s = max(policy.wave_delays_s, default=0.0)
    if policy.repeat_last:
        last_delay_s += policy.repeat_last * policy.repeat_every_s
    first_round = None
    if policy.max_rounds is None or policy.max_rounds > 0:
        first_round = now + timedelta(seconds=last_delay_s + policy.round_gap_s(0))
    escalate = None
    if policy.max_escalations is None or policy.max_escalations > 0:
        escalate = now + timedelta(seconds=policy.supervisor_after_s)
    conn.execute(
        PQ["schedule_rounds"],
        {"ids": incident_ids, "round_at": first_round, "escalate_at": escalate},
    )


def page_rows(
    *,
    incident: Row,
    site: Row | None,
    room: str | None,
    policy: EscalationPolicy,
    settings: AlertingSettings,
    now: datetime,
    contacts: Callable[[tuple[str, ...]], list[Row]],
    purpose: str = "page",
    template: str | None = None,
    round_base: int = 0,
    skip_unusable: bool = False,
) -> list[Row]:
    """The outbox rows of the incident's waves, in planning order, without writing them.

    ``contacts(roles)`` gives the wave's people (a query, or a batch's prefetched contacts).
    ``skip_unusable``: a person whose page cannot be prepared (bad data) is logged and left
    out instead of failing the whole household (fire and heat alarms).
    """
    kind = template or incident["kind"]
    if purpose == "same_day_call":
        waves: list[tuple[tuple[str, ...], float]] = [(SAME_DAY_CALL_ROLES, 0.0)]
    else:
        waves = list(zip(policy.wave_roles, policy.wave_delays_s, strict=False))
    people = [contacts(roles) for roles, _ in waves]
    schedule: list[tuple[int, int, float]] = [(i, 0, delay) for i, (_, delay) in enumerate(waves)]
    staffed = [i for i, wave_people in enumerate(people) if wave_people]
    if purpose == "page" and staffed:
        last = staffed[-1]  # repeat the last wave that has anybody in it
        for repeat in range(1, policy.repeat_last + 1):
            schedule.append((last, repeat, waves[last][1] + repeat * policy.repeat_every_s))
    rows: list[Row] = []
    seen: set[int] = set()
    # A repeat of a wave tells the same person the same thing: render it once.
    first: dict[tuple[int, int], Row] = {}
    for wave, repeat, delay in schedule:
        told_before = list({c["id"]: c for w in range(wave + 1) for c in people[w]}.values())
        for contact in people[wave]:
            if repeat == 0 and contact["id"] in seen:
                continue  # one person in two roles is paged once per round
            seen.add(contact["id"])
            try:
                row = page_row(
                    like=first.get((wave, contact["id"])),
                    incident=incident,
                    site=site,
                    room=room,
                    contact=contact,
                    others=[c for c in told_before if c["id"] != contact["id"]],
                    kind=kind,
                    purpose=purpose,
                    wave=wave + 1,
                    round_=round_base + repeat,
                    due=now + timedelta(seconds=delay),
                    settings=settings,
                    now=now,
                )
            except Exception as exc:
                if not skip_unusable:
                    raise
                log.error(
                    "contact %s skipped for incident %s: their page cannot be prepared (%s: %s)",
                    contact.get("id"),
                    incident["id"],
                    type(exc).__name__,
                    exc,
                )
                continue
            rows.append(row)
            first.setdefault((wave, contact["id"]), row)
    return rows


def page_row(
    *,
    incident: Row,
    site: Row | None,
    room: str | None,
    contact: Row,
    others: list[Row],
    kind: str,
    purpose: str,
    wave: int,
    round_: int,
    due: datetime,
    settings: AlertingSettings,
    now: datetime,
    like: Row | None = None,
    extra: dict[str, str] | None = None,
) -> Row:
    """One outbox row: the rendered messages, the acknowledge link, the due time.

    ``like``: a row already rendered for the same incident, person and wave (a repeat), whose
    messages and link are reused instead of rendered again.
    """
    if like is not None:
        return _row(
            incident=incident,
            contact=contact,
            purpose=purpose,
            wave=wave,
            round_=round_,
            due=due,
            settings=settings,
            rendered=like,
        )
    locale = contact["locale"] or settings.alerting_locale
    token = make_ack_token(
        incident_id=incident["id"],
        contact_id=contact["id"],
        secret=settings.ack_secret.get_secret_value(),
        ttl=timedelta(seconds=settings.ack_ttl_s),
        now=now,
    )
    ack_url = settings.ack_base_url + token
    names = {c["id"]: person_label(c["name"], c["role"], locale) for c in others}
    sep = phrase("message.list", locale)
    values = site_values(site, room, locale, settings, incident["first_event_at"] or now)
    values |= {
        "others": sep.join(names.values()),
        "others_names": sep.join(c["name"] for c in others),
        "others_count": phrase("message.people", locale, n=len(others)),
        "ack_url": ack_url,
        "event": event_label(kind, locale),
        "device_id": incident["device_id"],
    }
    values |= extra or {}
    messages = render_all(kind, locale, values, contact["channels"])
    title = next(iter(messages.values()))["title"] if messages else ""
    rendered = {"messages": messages, "title": title, "ack_url": ack_url}
    return _row(
        incident=incident,
        contact=contact,
        purpose=purpose,
        wave=wave,
        round_=round_,
        due=due,
        settings=settings,
        rendered=rendered,
    )


def _row(
    *,
    incident: Row,
    contact: Row,
    purpose: str,
    wave: int,
    round_: int,
    due: datetime,
    settings: AlertingSettings,
    rendered: Row,
) -> Row:
    due = release_time(
        due,
        priority=incident["priority"],
        start=contact["quiet_hours_start"] or settings.alerting_quiet_start,
        end=contact["quiet_hours_end"] or settings.alerting_quiet_end,
        tz=settings.timezone,
    )
    return {
        "purpose": purpose,
        "incident_id": incident["id"],
        "contact_id": contact["id"],
        "wave": wave,
        "round": round_,
        "priority": incident["priority"],
        "due_at": due,
        "channels": list(contact["channels"]),
        "messages": rendered["messages"],
        "title": rendered["title"],
        "ack_url": rendered["ack_url"],
        "event_id": incident["first_event_id"],
        "event_at": incident["first_event_at"],
        "dedupe_key": f"{purpose}:{incident['id']}:{contact['id']}:{wave}:{round_}",
    }


def plan_one(
    conn: psycopg.Connection[Any],
    *,
    incident: Row,
    site: Row | None,
    room: str | None,
    contact: Row,
    others: list[Row],
    kind: str,
    purpose: str,
    wave: int,
    round_: int,
    due: datetime,
    settings: AlertingSettings,
    now: datetime,
    extra: dict[str, str] | None = None,
) -> Planned | None:
    """Write one page (or escalation) for one contact to the outbox; None if already there."""
    row = page_row(
        incident=incident,
        site=site,
        room=room,
        contact=contact,
        others=others,
        kind=kind,
        purpose=purpose,
        wave=wave,
        round_=round_,
        due=due,
        settings=settings,
        now=now,
        extra=extra,
    )
    return _insert_one(conn, row, now)


def _insert_one(conn: psycopg.Connection[Any], row: Row, now: datetime) -> Planned | None:
    inserted = conn.execute(
        Q["plan_notification"], row | {"messages": Jsonb(row["messages"])}
    ).fetchone()
    if inserted is None:
        return None
    log_action(
        conn,
        incident_id=row["incident_id"],
        action="planned",
        at=now,
        contact_id=row["contact_id"],
        detail={
            "wave": row["wave"],
            "round": row["round"],
            "due_at": row["due_at"].isoformat(),
            "purpose": row["purpose"],
            "notification_id": inserted["id"],
        },
    )
    return Planned(inserted["id"], row["contact_id"], row["wave"], row["due_at"])
