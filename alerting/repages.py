"""Re-pages: a fire acknowledged but still open after ``repage_after`` pages wave 1 and the desk.

Someone said they were on the way, yet nobody closed the incident: the people who were told
first and the duty desk hear again, at most ``max_repages`` times (``repage_at`` and
``repage_count`` on the incident row, set by the lifecycle in core/incidents when it is
acknowledged). Housekeeping (alerting/service.py) calls :func:`plan_due_repages`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import psycopg

from alerting.planner import PQ, plan_pages
from alerting.policy import policy_for_site
from alerting.rounds import incident_place
from alerting.settings import AlertingSettings
from core.incidents import log_action
from core.pg_channels import NOTIFICATIONS_CHANNEL

# Round numbers of the re-pages start above those of the rounds (alerting/rounds.py).
REPAGE_ROUND_BASE = 100


def plan_due_repages(
    conn: psycopg.Connection[Any], *, settings: AlertingSettings, now: datetime
) -> int:
    """Page wave 1 and the desk again for every acknowledged, unresolved incident now due."""
    planned = 0
    with conn.transaction():
        for incident in conn.execute(PQ["due_repages"], {"now": now}).fetchall():
            policy = policy_for_site(conn, incident["site_id"], settings)
            bumped = conn.execute(
                PQ["bump_repage"],
                {"id": incident["id"], "now": now, "max_repages": policy.max_repages},
            ).fetchone()
            assert bumped is not None
            roles = tuple(dict.fromkeys(policy.wave_roles[0] + policy.wave_roles[-1]))
            once = replace(policy, wave_roles=(roles,), wave_delays_s=(0.0,), repeat_last=0)
            site, room = incident_place(conn, incident)
            rows = plan_pages(
                conn,
                incident=incident,
                site=site,
                room=room,
                policy=once,
                settings=settings,
                now=now,
                purpose="repage",
                template="repage",
                round_base=REPAGE_ROUND_BASE + bumped["repage_count"],
            )
            log_action(
                conn,
                incident_id=incident["id"],
                action="repaged",
                at=now,
                detail={"count": bumped["repage_count"], "planned": len(rows)},
            )
            planned += len(rows)
        if planned:
            conn.execute(PQ["notify"], {"channel": NOTIFICATIONS_CHANNEL, "payload": "repage"})
    return planned
