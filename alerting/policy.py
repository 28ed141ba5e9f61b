"""Escalation policies: built-in defaults from field practice, overridden per village or site.

Wave 1 at once and in parallel (resident or guardian, family, grid worker), wave 2 after a
wait (village cadre, neighbour, key holder), wave 3 the duty desk; the last wave repeats a
bounded number of times; an acknowledged fire not resolved in time re-pages.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import psycopg

from alerting.settings import AlertingSettings
from core.db import load_queries

Q = load_queries("alerting", "queries.sql")

DEFAULT_WAVE_ROLES: tuple[tuple[str, ...], ...] = (
    ("resident", "guardian", "family", "grid_worker"),
    ("village_cadre", "neighbour", "key_holder"),
    ("duty_desk",),
)
# A removed detector: the people who can look in today, never the resident at night.
SAME_DAY_CALL_ROLES: tuple[str, ...] = ("guardian", "family", "grid_worker")


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """Who is paged in which wave and when, for one site."""

    wave_roles: tuple[tuple[str, ...], ...]
    wave_delays_s: tuple[float, ...]
    repeat_last: int
    repeat_every_s: float
    repage_after_s: float
    max_repages: int
    tamper_same_day_call: bool

    @classmethod
    def defaults(cls, settings: AlertingSettings) -> EscalationPolicy:
        """The policy every site gets unless overridden."""
        return cls(
            wave_roles=DEFAULT_WAVE_ROLES,
            wave_delays_s=(0.0, settings.alerting_wave2_after_s, settings.alerting_wave3_after_s),
            repeat_last=settings.alerting_repeat_last,
            repeat_every_s=settings.alerting_repeat_every_s,
            repage_after_s=settings.alerting_repage_after_s,
            max_repages=settings.alerting_max_repages,
            tamper_same_day_call=settings.alerting_tamper_same_day_call,
        )

    def merged(self, override: dict[str, Any]) -> EscalationPolicy:
        """A copy with the keys present in ``override`` replaced (unknown keys ignored)."""
        known = {f.name for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, raw in override.items():
            if key not in known:
                continue
            value = raw
            if key == "wave_roles":
                value = tuple(tuple(str(r) for r in wave) for wave in raw)
            elif key == "wave_delays_s":
                value = tuple(float(v) for v in raw)
            changes[key] = value
        policy = replace(self, **changes)
        if len(policy.wave_delays_s) < len(policy.wave_roles):
            raise ValueError("every wave needs a delay")
        return policy


def policy_for_site(
    conn: psycopg.Connection[Any], site_id: int | None, settings: AlertingSettings
) -> EscalationPolicy:
    """Defaults, then organisation overrides from the top down, then the site's own."""
    policy = EscalationPolicy.defaults(settings)
    if site_id is None:
        return policy
    for row in conn.execute(Q["policy_overrides"], {"site_id": site_id}):
        policy = policy.merged(row["config"])
    return policy
