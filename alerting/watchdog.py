"""The offline watchdog: flag silent devices, group mass silence, stay quiet when blind.

Every sweep claims devices past their ``offline_deadline`` from the partial index
(``FOR UPDATE SKIP LOCKED``, oldest first, in batches), so the cost follows the number of due
devices, not the number of healthy ones, and several watchdogs never report a device twice.

A due device is reported on its own (an ``offline`` event through ``pending_events``, which the
event processor turns into a work order) unless it belongs to a group that went silent
together: the devices behind its gateway, or its village, when almost none of them spoke
within their own heartbeat period. Those join one outage record instead. While ingest is down
(no fresh heartbeat from a connected instance) or nobody at all has been heard for
``system_silence_s``, the watchdog flags nobody; once it hears again, deadlines that fell in
the blind interval move on by its length. The sweep takes ``now`` explicitly so tests move a
clock instead of sleeping.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg

from core.db import load_queries

log = logging.getLogger(__name__)
Q = load_queries("alerting", "health.sql")
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class WatchdogConfig:
    """Thresholds of the watchdog (from AlertingSettings in the service)."""

    batch: int = 500
    max_batches: int = 20
    ingest_stale_s: float = 30.0
    system_silence_s: float = 1800.0
    outage_min_devices: int = 5
    outage_alive_fraction: float = 0.1


@dataclass(slots=True)
class SweepResult:
    """What one sweep did."""

    blind: str | None = None
    reported: list[str] = field(default_factory=list)
    grouped: dict[int, list[str]] = field(default_factory=dict)
    shifted: int = 0

    @property
    def flagged(self) -> int:
        return len(self.reported) + sum(len(v) for v in self.grouped.values())


class Watchdog:
    """Flags devices past their deadline; one instance per alerting worker."""

    def __init__(self, config: WatchdogConfig | None = None) -> None:
        self.config = config or WatchdogConfig()

    def sweep(self, conn: psycopg.Connection[Any], now: datetime) -> SweepResult:
        """Flag the devices due at ``now`` (at most ``max_batches``), a transaction per batch."""
        result = SweepResult()
        cutoff = self._cutoff(conn, now, result)
        if cutoff is None:
            return result
        for _ in range(self.config.max_batches):
            if self._batch(conn, now, cutoff, result) < self.config.batch:
                break
        return result

    def _cutoff(
        self, conn: psycopg.Connection[Any], now: datetime, result: SweepResult
    ) -> datetime | None:
        """Latest deadline we may judge: never past the last moment ingest was listening."""
        status = conn.execute(Q["ingest_status"]).fetchone()
        assert status is not None
        if not status["instances"]:
            return now  # no ingest heartbeat configured: trust the clock alone
        beat: datetime | None = status["beat_at"]
        heard: datetime | None = status["last_message_at"]
        if beat is None or now - beat > timedelta(seconds=self.config.ingest_stale_s):
            result.blind = "ingest"
            self._go_blind(conn, now, "ingest", beat)
            return None
        # No message yet (an HTTP-push-only fleet): the heartbeat alone decides.
        if heard is not None and now - heard > timedelta(seconds=self.config.system_silence_s):
            result.blind = "system"
            self._go_blind(conn, now, "system", heard)
            return None
        with conn.transaction():
            watch = conn.execute(Q["lock_watch"]).fetchone()
            since = watch["ingest_down_since"] if watch else None
            if since is not None:
                shifted = conn.execute(Q["shift_deadlines"], {"now": now, "since": since})
                result.shifted = shifted.rowcount
                conn.execute(Q["clear_blind"])
                closed = conn.execute(Q["close_blind_outages"], {"now": now}).fetchall()
                log.warning(
                    "hearing devices again after %s; %d deadlines moved on, outages %s closed",
                    now - since,
                    result.shifted,
                    [row["id"] for row in closed],
                )
        return min(now, beat)

    def _go_blind(
        self, conn: psycopg.Connection[Any], now: datetime, scope: str, last: datetime | None
    ) -> None:
        since = last or now
        with conn.transaction():
            conn.execute(Q["lock_watch"])
            conn.execute(Q["mark_blind"], {"since": since})
            opened = conn.execute(
                Q["open_outage"],
                {
                    "scope": scope,
                    "scope_key": "all",
                    "org_id": None,
                    "now": now,
                    "note": f"nothing heard since {since.isoformat()}",
                },
            ).fetchone()
        if opened and opened["created"]:
            log.error("%s outage: no device can be heard since %s; flagging nobody", scope, since)

    def _batch(
        self, conn: psycopg.Connection[Any], now: datetime, cutoff: datetime, result: SweepResult
    ) -> int:
        with conn.transaction():
            due = conn.execute(Q["claim_due"], {"cutoff": cutoff, "limit": self.config.batch})
            rows = due.fetchall()
            if not rows:
                return 0
            groups = _Groups(conn, now, self.config)
            alone: list[str] = []
            for row in rows:
                outage = groups.outage_for(row)
                if outage is None:
                    alone.append(row["device_id"])
                else:
                    groups.members.setdefault(outage, []).append(row)
            conn.execute(
                Q["mark_offline"], {"now": now, "device_ids": [r["device_id"] for r in rows]}
            )
            if alone:
                conn.execute(Q["insert_offline_events"], {"now": now, "device_ids": alone})
            for outage_id, members in groups.members.items():
                conn.execute(
                    Q["add_outage_devices"],
                    {
                        "outage_id": outage_id,
                        "device_ids": [m["device_id"] for m in members],
                        "silent_at": [m["offline_deadline"] for m in members],
                    },
                )
                result.grouped.setdefault(outage_id, []).extend(m["device_id"] for m in members)
            result.reported.extend(alone)
        return len(rows)


class _Groups:
    """Silence checks for one batch, each gateway and village asked once."""

    def __init__(self, conn: psycopg.Connection[Any], now: datetime, config: WatchdogConfig):
        self.conn = conn
        self.now = now
        self.config = config
        self.silent: dict[tuple[str, str], bool] = {}
        self.members: dict[int, list[Row]] = {}
        self.outages: dict[tuple[str, str], int] = {}

    def outage_for(self, row: Row) -> int | None:
        """The outage this device's silence belongs to, or None when it is alone."""
        if row["gateway_id"] is not None and self._is_silent("gateway", row["gateway_id"], None):
            return self._outage("gateway", row["gateway_id"], None)
        village = row["village_id"]
        if village is not None and self._is_silent("village", str(village), village):
            return self._outage("village", str(village), village)
        return None

    def _is_silent(self, scope: str, key: str, village: int | None) -> bool:
        if (scope, key) not in self.silent:
            if scope == "gateway":
                counts = self.conn.execute(
                    Q["gateway_heard"], {"gateway_id": key, "now": self.now}
                ).fetchone()
            else:
                counts = self.conn.execute(
                    Q["village_heard"], {"village_id": village, "now": self.now}
                ).fetchone()
            assert counts is not None
            self.silent[(scope, key)] = (
                counts["members"] >= self.config.outage_min_devices
                and counts["heard"] <= counts["members"] * self.config.outage_alive_fraction
            )
        return self.silent[(scope, key)]

    def _outage(self, scope: str, key: str, org_id: int | None) -> int:
        if (scope, key) not in self.outages:
            row = self.conn.execute(
                Q["open_outage"],
                {"scope": scope, "scope_key": key, "org_id": org_id, "now": self.now, "note": None},
            ).fetchone()
            assert row is not None
            if row["created"]:
                log.warning(
                    "%s %s went silent: one outage (%s) instead of work orders",
                    scope,
                    key,
                    row["id"],
                )
            self.outages[(scope, key)] = row["id"]
        return self.outages[(scope, key)]


__all__ = ["SweepResult", "Watchdog", "WatchdogConfig"]
