"""Escalation policies: built-in defaults from field practice, overridden per village or site.

Wave 1 at once and in parallel (resident or guardian, family, grid worker), wave 2 after a
wait (village cadre, neighbour, key holder), wave 3 the duty desk. While nobody answers a fire,
rounds (wave 1, the last staffed wave and the duty desk, voice first) repeat on a growing but
bounded interval until a person acknowledges; a policy caps them only explicitly
(``max_rounds``). While no operator has acknowledged on the board, the centre's supervisors are
paged as a separate escalation. An acknowledged fire not resolved in time re-pages. Whoever was
paged hears who answered and how it ended (``answer_notices``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace
from typing import Any

import psycopg

from alerting.settings import AlertingSettings
from core.db import load_queries

log = logging.getLogger(__name__)
Q = load_queries("alerting", "queries.sql")

DEFAULT_WAVE_ROLES: tuple[tuple[str, ...], ...] = (
    ("resident", "guardian", "family", "grid_worker"),
    ("village_cadre", "neighbour", "key_holder"),
    ("duty_desk",),
)
# A removed detector: the people who can look in today, never the resident at night.
SAME_DAY_CALL_ROLES: tuple[str, ...] = ("guardian", "family", "grid_worker")
# Every round of an unanswered fire reaches the duty desk, whatever the waves say.
DUTY_DESK_ROLE = "duty_desk"
# Incident kinds that page until answered and escalate to supervisors.
PAGING_KINDS = frozenset({"fire", "heat"})
# How each scalar key of an override is read: a wrong type fails at the merge, where the
# override is named, not later in the middle of planning a fire's pages.
_FLOATS = frozenset({"repeat_every_s", "repage_after_s", "supervisor_after_s"})
_INTS = frozenset({"repeat_last", "max_repages"})
_OPTIONAL_INTS = frozenset({"max_rounds", "max_escalations"})


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
    # Rounds while nobody answered: gaps between rounds, the last one repeating for ever
    # unless ``max_rounds`` (None: until a person acknowledges) caps them.
    repeat_intervals_s: tuple[float, ...] = (300.0, 600.0, 900.0)
    max_rounds: int | None = None
    # The centre's supervisors, paged when no operator acknowledged after this long, again
    # on the same growing intervals; ``max_escalations`` None: until an operator does.
    supervisor_roles: tuple[str, ...] = ("supervisor",)
    supervisor_after_s: float = 600.0
    max_escalations: int | None = None
    # Incident kinds whose paged people hear who answered and how it ended.
    answer_notices: tuple[str, ...] = ("fire", "heat")

    def round_gap_s(self, done: int) -> float:
        """Seconds between round ``done`` and the next (the last interval repeats)."""
        gaps = self.repeat_intervals_s or (900.0,)
        return gaps[min(done, len(gaps) - 1)]

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
            repeat_intervals_s=tuple(settings.alerting_repeat_intervals_s),
            supervisor_after_s=settings.alerting_supervisor_after_s,
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
            elif key in ("wave_delays_s", "repeat_intervals_s"):
                value = tuple(float(v) for v in raw)
            elif key in ("supervisor_roles", "answer_notices"):
                value = tuple(str(v) for v in raw)
            elif key in _FLOATS:
                value = _number(key, raw, float)
            elif key in _INTS or (key in _OPTIONAL_INTS and raw is not None):
                value = _number(key, raw, int)
            elif key == "tamper_same_day_call" and not isinstance(raw, bool):
                raise ValueError(f"{key} must be true or false, not {raw!r}")
            changes[key] = value
        policy = replace(self, **changes)
        if len(policy.wave_delays_s) < len(policy.wave_roles):
            raise ValueError("every wave needs a delay")
        if any(gap <= 0 for gap in policy.repeat_intervals_s):
            raise ValueError("repeat intervals must be positive")
        return policy


def _number(key: str, raw: Any, kind: type[float] | type[int]) -> Any:
    """``raw`` as a number, refusing text and booleans that Python would quietly accept."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"{key} must be a number, not {raw!r}")
    return kind(raw)


def policy_for_site(
    conn: psycopg.Connection[Any], site_id: int | None, settings: AlertingSettings
) -> EscalationPolicy:
    """Defaults, then organisation overrides from the top down, then the site's own.

    A site whose overrides do not merge into a valid policy gets the defaults (logged): its
    fire's rounds, re-pages and notices must go on as the first page did (alerting/batch.py).
    """
    defaults = EscalationPolicy.defaults(settings)
    if site_id is None:
        return defaults
    policy = defaults
    for row in conn.execute(Q["policy_overrides"], {"site_id": site_id}):
        try:
            policy = merged_override(policy, row["config"])
        except (ValueError, TypeError, KeyError) as exc:
            log.error(
                "escalation policy override %s is broken (%s: %s); site %s uses the default policy",
                row["policy_id"],
                type(exc).__name__,
                exc,
                site_id,
            )
            return defaults
    return policy


def merged_override(policy: EscalationPolicy, config: Any) -> EscalationPolicy:
    """``policy`` with one override row's config merged; ValueError when it is not valid."""
    if not isinstance(config, dict):
        raise ValueError(f"config is {type(config).__name__}, not an object")
    return policy.merged(config)
