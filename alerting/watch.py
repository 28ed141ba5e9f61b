"""Self-watch: publish queue health as metrics and page the monitoring centre when it is bad.

The page goes straight to ``monitoring_urls`` through Apprise, not through the outbox: when
the outbox itself is stuck it is the one thing that must not be relied on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import psycopg

from alerting import metrics
from alerting.backlog import measure_event_backlog
from alerting.outbox import measure_backlog
from alerting.render import channel_of, render
from alerting.settings import AlertingSettings
from core.db import load_queries
from core.notify.channels import send_once

log = logging.getLogger(__name__)
Q = load_queries("alerting", "queries.sql")
MIN_ATTEMPTS_FOR_RATE = 5
REALERT_AFTER_S = 900.0


class SelfWatch:
    """Checks health every ``watch_interval_s`` and pages at most every 15 minutes."""

    def __init__(self, settings: AlertingSettings) -> None:
        self.settings = settings
        self.last_alert: datetime | None = None

    def problems(self, conn: psycopg.Connection[Any], now: datetime) -> list[str]:
        """Update the gauges; return what crosses a threshold."""
        outbox = measure_backlog(conn, now)
        due, age = outbox.due, outbox.oldest_s
        events = measure_event_backlog(conn)
        pending, event_age = events.pending, events.oldest_s
        found: list[str] = []
        if (
            due >= self.settings.alerting_backlog_threshold
            or age >= self.settings.alerting_backlog_age_threshold_s
        ):
            found.append(f"backlog: {due} due unsent, oldest {age:.0f} s")
        # Events not yet turned into incidents page nobody: an engine that falls behind (or
        # whose processors stopped) is as bad as a stuck outbox.
        if event_age >= self.settings.alerting_backlog_age_threshold_s:
            found.append(f"event backlog: {pending} events waiting, oldest {event_age:.0f} s")
        for row in conn.execute(
            Q["failure_rates"], {"window": self.settings.alerting_failure_window_s}
        ):
            if row["total"] >= MIN_ATTEMPTS_FOR_RATE:
                rate = row["failed"] / row["total"]
                if rate >= self.settings.alerting_failure_rate_threshold:
                    found.append(f"{row['scheme']}: {rate:.0%} of {row['total']} attempts failed")
        found.extend(self._ingest_problems(conn, now))
        return found

    def _ingest_problems(self, conn: psycopg.Connection[Any], now: datetime) -> list[str]:
        """Nothing stored or nothing heard: every fire alarm would be missed, so page."""
        found: list[str] = []
        stale_s = self.settings.alerting_ingest_stale_s
        ingest = conn.execute(Q["ingest_liveness"], {"now": now, "stale_s": stale_s}).fetchone()
        if ingest and ingest["instances"]:
            metrics.INGEST_ALIVE.set(int(ingest["alive"]))
            if not ingest["alive"]:
                found.append(
                    f"ingest: no instance stored or heard anything for "
                    f"{float(ingest['beat_age_s'] or 0):.0f} s (stopped, broker lost, or the "
                    "database refuses writes): fire alarms are not being received"
                )
        silence = conn.execute(Q["system_silence"]).fetchone()
        if silence and silence["since"] is not None:
            found.append(
                f"no detector heard since {silence['since'].isoformat(timespec='minutes')} "
                f"({silence['devices']} devices): broker or network down?"
            )
        return found

    def check(self, conn: psycopg.Connection[Any], now: datetime) -> list[str]:
        """Look, and page the monitoring centre if needed (rate-limited)."""
        found = self.problems(conn, now)
        if not found or not self.settings.alerting_monitoring_urls:
            return found
        if self.last_alert and (now - self.last_alert).total_seconds() < REALERT_AFTER_S:
            return found
        self.last_alert = now
        page_centre(self.settings, "; ".join(found), now)
        return found


def page_centre(settings: AlertingSettings, problem: str, now: datetime) -> int:
    """Page every ``monitoring_urls`` destination about ``problem``; how many accepted it."""
    if not settings.alerting_monitoring_urls:
        log.critical("nobody to tell (no alerting_monitoring_urls): %s", problem)
        return 0
    accepted = 0
    for url in settings.alerting_monitoring_urls:
        message = render(
            "selfwatch",
            channel_of(url),
            settings.alerting_locale,
            {"problem": problem, "time": now.isoformat(timespec="seconds")},
        )
        result = send_once(
            url,
            title=message.title,
            body=message.body,
            timeout_s=settings.alerting_request_timeout_s,
        )
        accepted += result.ok
        log.warning("self-watch page (%s) via %s: %s", problem, url.split(":")[0], result.outcome)
    return accepted
