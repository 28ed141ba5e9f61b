"""Fire and heat alarms of a batch of events turned into incidents and pages, set-based.

During an alarm storm (a power cut resetting a village's detectors, a district-wide drill,
issue 22) events arrive by the thousand. One round trip per statement made the engine open
incidents at about 40 per second; here a batch costs a fixed handful of statements whatever
its size: every site's policy overrides, sites and contacts in one query each, every
incident opened or joined in one (core.incidents.batch), every page and its audit row in one.
The rules (who is paged in which wave, the messages, the dedupe keys) are the planner's own:
only the round trips differ from :func:`alerting.planner.plan_pages`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import orjson
import psycopg

from alerting import metrics
from alerting.planner import page_rows, schedule_rounds
from alerting.policy import PAGING_KINDS, EscalationPolicy, merged_override
from alerting.settings import AlertingSettings
from core.db import load_queries
from core.domain import Priority
from core.incidents.batch import IncidentEvent, open_or_join_many

log = logging.getLogger(__name__)
Q = load_queries("alerting", "queries.sql")
Row = dict[str, Any]


def policies_for_sites(
    conn: psycopg.Connection[Any], site_ids: Sequence[int], settings: AlertingSettings
) -> dict[int, EscalationPolicy]:
    """:func:`alerting.policy.policy_for_site` for many sites in one query.

    A fire must page even when someone broke a site's override: a site whose overrides do
    not merge into a valid policy gets the defaults, and the broken override is logged.
    """
    defaults = EscalationPolicy.defaults(settings)
    policies = dict.fromkeys(site_ids, defaults)
    broken: set[int] = set()
    for row in conn.execute(Q["policy_overrides_for_sites"], {"site_ids": list(site_ids)}):
        site_id = row["site_id"]
        if site_id in broken:
            continue
        try:
            policies[site_id] = merged_override(policies[site_id], row["config"])
        except (ValueError, TypeError, KeyError) as exc:
            broken.add(site_id)
            policies[site_id] = defaults
            metrics.BROKEN_DATA.labels("policy").inc()
            log.error(
                "escalation policy override %s is broken (%s: %s); site %s pages with the"
                " default policy",
                row["policy_id"],
                type(exc).__name__,
                exc,
                site_id,
            )
    return policies


def page_many(
    conn: psycopg.Connection[Any],
    events: Sequence[Row],
    kinds: Sequence[str],
    *,
    settings: AlertingSettings,
    now: datetime,
) -> list[tuple[int, int, bool]]:
    """Open or join each event's incident and plan the new incidents' pages.

    ``kinds[i]`` is the incident kind of ``events[i]``; returns (incident id, pages planned,
    opened) per event, in order: an opened incident with no page planned paged nobody.
    """
    site_ids = sorted({e["site_id"] for e in events if e["site_id"] is not None})
    policies = policies_for_sites(conn, site_ids, settings)
    defaults = EscalationPolicy.defaults(settings)

    def policy_of(event: Row) -> EscalationPolicy:
        return policies.get(event["site_id"], defaults)

    opened = open_or_join_many(
        conn,
        [
            IncidentEvent(
                device_id=e["device_id"],
                site_id=e["site_id"],
                kind=kind,
                priority=int(Priority.FIRE),
                event_id=e["id"],
                event_at=e["received_at"],
                repage_after=timedelta(seconds=policy_of(e).repage_after_s),
            )
            for e, kind in zip(events, kinds, strict=True)
        ],
        now=now,
    )
    new = [(e, o.incident) for e, o in zip(events, opened, strict=True) if o.created]
    planned: dict[int, int] = defaultdict(int)
    if new:
        rows = _rows_for(conn, new, policy_of, settings, now)
        if rows:
            for done in conn.execute(
                Q["plan_notifications"],
                {"rows": orjson.dumps(rows).decode(), "now": now},
            ):
                planned[done["incident_id"]] += 1
        _schedule_rounds(conn, new, policy_of, now)
        for event, incident in new:
            if not planned[incident["id"]]:
                log.error(
                    "incident %s at site %s has nobody to page", incident["id"], event["site_id"]
                )
    return [
        (o.incident["id"], planned[o.incident["id"]] if o.created else 0, o.created) for o in opened
    ]


def _schedule_rounds(
    conn: psycopg.Connection[Any], new: list[tuple[Row, Row]], policy_of: Any, now: datetime
) -> None:
    """Paging until answered (alerting/rounds.py) for the new fires: one statement a policy."""
    by_policy: dict[int, tuple[EscalationPolicy, list[int]]] = {}
    for event, incident in new:
        if incident["kind"] in PAGING_KINDS:
            policy = policy_of(event)
            by_policy.setdefault(id(policy), (policy, []))[1].append(incident["id"])
    for policy, ids in by_policy.values():
        schedule_rounds(conn, ids, policy, now)


def _with_roles(contacts: list[Row], roles: tuple[str, ...]) -> list[Row]:
    """The site's prefetched contacts holding one of ``roles`` (already in paging order)."""
    return [c for c in contacts if c["role"] in roles]


def usable(contact: Row) -> tuple[Row | None, str | None]:
    """The contact with only their usable channels (None if none is), and what was wrong."""
    channels = contact.get("channels")
    if not isinstance(channels, list):
        return None, "channels is not a list"
    good = [u for u in channels if isinstance(u, str) and u.split("://", 1)[0] and "://" in u]
    if len(good) == len(channels):
        return contact, None
    bad = ", ".join(repr(str(u)[:40]) for u in channels if u not in good)
    return (contact | {"channels": good} if good else None), f"not an Apprise URL: {bad}"


def _rows_for(
    conn: psycopg.Connection[Any],
    new: list[tuple[Row, Row]],
    policy_of: Any,
    settings: AlertingSettings,
    now: datetime,
) -> list[Row]:
    """Every outbox row of the newly opened incidents, contacts and sites read once."""
    site_ids = sorted({incident["site_id"] for _, incident in new if incident["site_id"]})
    sites = {s["id"]: s for s in conn.execute(Q["sites"], {"site_ids": site_ids})}
    roles = sorted({r for e, _ in new for wave in policy_of(e).wave_roles for r in wave})
    people: dict[int, list[Row]] = defaultdict(list)
    unusable: set[int] = set()
    for contact in conn.execute(Q["contacts_for_sites"], {"site_ids": site_ids, "roles": roles}):
        checked, problem = usable(contact)
        if problem is not None and contact["id"] not in unusable:
            unusable.add(contact["id"])  # an organisation's contact comes once per site
            metrics.BROKEN_DATA.labels("contact").inc()
            log.error(
                "contact %s has bad data (%s); %s",
                contact["id"],
                problem,
                "skipped" if checked is None else "paged on their other channels",
            )
        if checked is not None:
            people[contact["for_site"]].append(checked)
    ranked: list[tuple[datetime, int, int, Row]] = []
    for number, (event, incident) in enumerate(new):
        site = sites.get(incident["site_id"]) if incident["site_id"] else None
        mine = people.get(site["id"], []) if site else []
        planned = page_rows(
            incident=incident,
            site=site,
            room=event["room"],
            policy=policy_of(event),
            settings=settings,
            now=now,
            contacts=partial(_with_roles, mine),
            skip_unusable=True,
        )
        ranked.extend((row["due_at"], rank, number, row) for rank, row in enumerate(planned))
    # Written one person per household before a second one, and each page keeps its place
    # among its incident's pages (person_order): the outbox claims by priority, then that
    # place, so in a storm every household's first page goes out before anyone's second,
    # across batches too.
    rows: list[Row] = []
    for *_, rank, _number, row in sorted(ranked, key=lambda item: item[:3]):
        row["person_order"] = rank
        rows.append(row)
    for ord_, row in enumerate(rows):
        row["ord"] = ord_
        row["due_iso"] = row["due_at"].isoformat()
    return rows
