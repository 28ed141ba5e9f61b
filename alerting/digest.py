"""Maintainer digests: outages, open work orders and offline devices, daily and on demand.

Digests are low priority: planned through the outbox like pages, but held by quiet hours
(never at night unless ``digest_at_night``). ``digest_runs`` makes the daily one happen once
per maintainer and day however many workers run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.types.json import Jsonb

from alerting.quiet import release_time
from alerting.render import render_all
from alerting.settings import AlertingSettings
from core.db import load_queries
from core.domain import Priority
from core.messages import word

Q = load_queries("alerting", "queries.sql")


def plan_digests(
    conn: psycopg.Connection[Any],
    *,
    settings: AlertingSettings,
    now: datetime,
    on_demand: bool = False,
) -> list[int]:
    """Plan today's digest for every maintainer (once a day), or one now when on demand."""
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    daily_at = settings.alerting_digest_at
    if not on_demand and (daily_at is None or local.time() < daily_at):
        return []
    planned: list[int] = []
    with conn.transaction():
        for person in conn.execute(Q["maintainers"]).fetchall():
            if (
                not on_demand
                and conn.execute(
                    Q["claim_digest_day"], {"contact_id": person["id"], "day": local.date()}
                ).fetchone()
                is None
            ):
                continue
            planned.extend(
                _plan_one(
                    conn,
                    person=person,
                    settings=settings,
                    now=now,
                    local=local,
                    on_demand=on_demand,
                )
            )
    return planned


def _plan_one(
    conn: psycopg.Connection[Any],
    *,
    person: dict[str, Any],
    settings: AlertingSettings,
    now: datetime,
    local: datetime,
    on_demand: bool,
) -> list[int]:
    locale = person["locale"] or settings.alerting_locale
    orders = conn.execute(Q["digest_work_orders"], {"path": person["org_path"]}).fetchall()
    offline = conn.execute(Q["digest_offline"], {"path": person["org_path"]}).fetchone()
    outages = conn.execute(Q["digest_outages"], {"path": person["org_path"]}).fetchall()
    lines = (
        "\n".join(
            [
                f"- {word('workorder', 'outage', locale)} {o['scope']} {o['scope_key']}: "
                f"{o['devices']} ({o['opened_at'].astimezone(local.tzinfo):%m-%d})"
                for o in outages
            ]
            + [
                f"- {word('workorder', o['kind'], locale)} {o['address']} {o['room'] or ''} "
                f"({o['opened_at'].astimezone(local.tzinfo):%m-%d})"
                for o in orders
            ]
        )
        or "-"
    )
    values = {
        "area": person["org_name"],
        "count": str(len(orders)),
        "offline": str(offline["offline"] if offline else 0),
        "lines": lines,
        "time": f"{local:%m-%d %H:%M}",
    }
    messages = render_all("digest", locale, values, person["channels"])
    due = now
    if not settings.alerting_digest_at_night:
        due = release_time(
            now,
            priority=Priority.MAINTENANCE,
            start=person["quiet_hours_start"] or settings.alerting_quiet_start,
            end=person["quiet_hours_end"] or settings.alerting_quiet_end,
            tz=settings.timezone,
        )
    key = f"digest:{person['id']}:{local:%Y-%m-%d}" + (
        f":{now.timestamp():.0f}" if on_demand else ""
    )
    row = conn.execute(
        Q["insert_digest"],
        {
            "contact_id": person["id"],
            "priority": int(Priority.MAINTENANCE),
            "due_at": due,
            "channels": list(person["channels"]),
            "messages": Jsonb(messages),
            "title": next(iter(messages.values()))["title"],
            "dedupe_key": key,
        },
    ).fetchone()
    return [row["id"]] if row else []
