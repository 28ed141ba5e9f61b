"""Quiet hours: when a low-priority message may go out. Fire alarms never wait."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.domain import Priority


def in_window(local: time, start: time, end: time) -> bool:
    """True when ``local`` lies in [start, end), a window that may wrap midnight."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def release_time(
    due: datetime, *, priority: int, start: time | None, end: time | None, tz: str
) -> datetime:
    """When a message due at ``due`` may be sent: at once for fire, else after quiet hours."""
    if priority <= Priority.FIRE or start is None or end is None:
        return due
    zone = ZoneInfo(tz)
    local = due.astimezone(zone)
    if not in_window(local.timetz().replace(tzinfo=None), start, end):
        return due
    release = datetime.combine(local.date(), end, zone)
    if release <= local:
        release += timedelta(days=1)
    return release.astimezone(UTC)
