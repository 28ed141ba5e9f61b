"""The device health threads of an alerting worker: watchdog sweeps, village figures, jobs.

Each has its own connection, so a slow sweep never delays a fire page on the event loop; losing
the database is logged and retried on the next round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg

from alerting import metrics
from alerting.health_jobs import (
    JobsConfig,
    refresh_village_health,
    run_maintenance,
    storage_health,
)
from alerting.settings import AlertingSettings
from alerting.watchdog import Watchdog, WatchdogConfig
from core.db import connect
from core.errors import DatabaseUnavailable

log = logging.getLogger(__name__)


def watchdog_config(settings: AlertingSettings) -> WatchdogConfig:
    """The watchdog's thresholds from the service settings."""
    return WatchdogConfig(
        batch=settings.alerting_watchdog_batch,
        ingest_stale_s=settings.alerting_ingest_stale_s,
        system_silence_s=settings.alerting_system_silence_s,
        outage_min_devices=settings.alerting_outage_min_devices,
        outage_alive_fraction=settings.alerting_outage_alive_fraction,
    )


class HealthRunner:
    """Runs the watchdog and the health jobs on two threads until ``stop_event`` is set.

    The jobs (village figures over a million devices take seconds) have their own thread and
    connection so they never delay a sweep.
    """

    def __init__(
        self,
        settings: AlertingSettings,
        clock: Callable[[], datetime],
        stop_event: threading.Event,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.stop_event = stop_event
        self.watchdog = Watchdog(watchdog_config(settings))
        self.jobs = JobsConfig(
            village_health_every_s=settings.alerting_village_health_every_s,
            flap_threshold=settings.alerting_flap_threshold,
        )
        self._last_health = 0.0
        self._last_maintenance = 0.0
        self.threads = [
            threading.Thread(
                target=self._loop,
                args=(self.sweep, settings.alerting_watchdog_interval_s),
                name="watchdog",
                daemon=True,
            ),
            threading.Thread(
                target=self._loop, args=(self.run_jobs, 1.0), name="health-jobs", daemon=True
            ),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float) -> None:
        for thread in self.threads:
            if thread.is_alive():
                thread.join(timeout)

    def _loop(self, step: Callable[[psycopg.Connection[Any]], None], every_s: float) -> None:
        """Run ``step`` every ``every_s`` on its own connection until stopped."""
        while not self.stop_event.is_set():
            try:
                with connect(self.settings.database_url, autocommit=True) as conn:
                    while not self.stop_event.is_set():
                        step(conn)
                        self.stop_event.wait(every_s)
            except (DatabaseUnavailable, psycopg.OperationalError) as exc:
                log.warning("device health: database unavailable (%s); retrying", exc)
                self.stop_event.wait(2.0)
            except Exception:
                log.exception("device health round failed")
                self.stop_event.wait(2.0)

    def sweep(self, conn: psycopg.Connection[Any]) -> None:
        """One watchdog sweep at the clock's now."""
        result = self.watchdog.sweep(conn, self.clock())
        metrics.WATCHDOG_LAST_ROUND.set_to_current_time()
        if result.flagged:
            metrics.WATCHDOG_FLAGGED.labels("alone").inc(len(result.reported))
            metrics.WATCHDOG_FLAGGED.labels("in_outage").inc(result.flagged - len(result.reported))
            log.info(
                "watchdog flagged %d devices (%d reported, %d in outages)",
                result.flagged,
                len(result.reported),
                result.flagged - len(result.reported),
            )

    def run_jobs(self, conn: psycopg.Connection[Any]) -> None:
        """Village figures and maintenance jobs, each when due."""
        now = self.clock()
        mono = time.monotonic()
        if mono - self._last_health >= self.jobs.village_health_every_s:
            self._last_health = mono
            refresh_village_health(conn, now=now, every_s=self.jobs.village_health_every_s)
        if mono - self._last_maintenance >= self.settings.alerting_maintenance_every_s:
            self._last_maintenance = mono
            run_maintenance(conn, now=now, config=self.jobs)
            for (name, table), value in storage_health(conn).items():
                metrics.STORAGE.labels(name, table).set(value)


__all__ = ["HealthRunner", "watchdog_config"]
