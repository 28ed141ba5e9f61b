"""The canonical vocabulary of smokewatch: event types, their priorities and what they mean.

See docs/protocol.md and ../shared/domain.md. Every codec maps its vendor's format onto
these names; everything downstream speaks only these.
"""

from __future__ import annotations

import re
from enum import IntEnum, StrEnum


class Priority(IntEnum):
    """Lower is more urgent; fire pre-empts every queue ("fire first")."""

    FIRE = 1
    URGENT = 2
    MAINTENANCE = 3
    INFO = 4
    NONE = 5


class EventType(StrEnum):
    """Canonical events a detector (or our watchdog) can report."""

    ALARM = "alarm"
    ALARM_CLEARED = "alarm_cleared"
    HIGH_TEMPERATURE = "high_temperature"
    TAMPER = "tamper"
    TAMPER_CLEARED = "tamper_cleared"
    LOW_BATTERY = "low_battery"
    BATTERY_OK = "battery_ok"
    FAULT = "fault"
    FAULT_CLEARED = "fault_cleared"
    TEST = "test"
    SILENCED = "silenced"
    HEARTBEAT = "heartbeat"
    WEAK_SIGNAL = "weak_signal"
    ONLINE = "online"
    OFFLINE = "offline"


PRIORITY: dict[EventType, Priority] = {
    EventType.ALARM: Priority.FIRE,
    EventType.HIGH_TEMPERATURE: Priority.FIRE,
    EventType.TAMPER: Priority.URGENT,
    EventType.LOW_BATTERY: Priority.MAINTENANCE,
    EventType.FAULT: Priority.MAINTENANCE,
    EventType.OFFLINE: Priority.MAINTENANCE,
    EventType.ALARM_CLEARED: Priority.INFO,
    EventType.TAMPER_CLEARED: Priority.INFO,
    EventType.BATTERY_OK: Priority.INFO,
    EventType.FAULT_CLEARED: Priority.INFO,
    EventType.TEST: Priority.INFO,
    EventType.SILENCED: Priority.INFO,
    EventType.WEAK_SIGNAL: Priority.INFO,
    EventType.ONLINE: Priority.INFO,
    EventType.HEARTBEAT: Priority.NONE,
}

# Committed at once in their own transaction, ahead of any queued telemetry.
CRITICAL_EVENTS: frozenset[EventType] = frozenset(
    {
        EventType.ALARM,
        EventType.ALARM_CLEARED,
        EventType.HIGH_TEMPERATURE,
        EventType.TAMPER,
        EventType.FAULT,
        EventType.TEST,
        EventType.SILENCED,
    }
)

# Events the alert engine must see; heartbeats only refresh device state.
ALERTABLE_EVENTS: frozenset[EventType] = frozenset(set(EventType) - {EventType.HEARTBEAT})

# Device ids as they appear in topics and in the registry (same rule as the devices table).
DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
