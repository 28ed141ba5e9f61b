"""PostgreSQL NOTIFY channels and the queue tables they announce: every name, once.

A committed row in a queue table wakes its consumer with a NOTIFY on the channel beside it
(PostgreSQL delivers it at commit); each consumer also polls, so a lost notification only
delays. Migrations and ``.sql`` files keep the literal names (SQL cannot import Python):
``tests/test_pg_channels.py`` checks that each name they use is one of these.
"""

from __future__ import annotations

from psycopg import sql

# New pending_events rows (trigger, migration 0003): alerting's event workers; the API's live feed.
EVENTS_CHANNEL = "smokewatch_events"
# Incident changes (trigger, migration 0026): the API's live feed.
INCIDENTS_CHANNEL = "smokewatch_incidents"
# Planned notifications, due rounds, digests: alerting's service loop sends them.
NOTIFICATIONS_CHANNEL = "smokewatch_notifications"
# A vendor platform's push, committed by the API to push_inbox: ingest's inbox worker.
PUSH_CHANNEL = "smokewatch_push"
# A new device command request (trigger, migration 0047): ingest's command dispatcher.
COMMANDS_CHANNEL = "smokewatch_commands"

CHANNELS = (
    EVENTS_CHANNEL,
    INCIDENTS_CHANNEL,
    NOTIFICATIONS_CHANNEL,
    PUSH_CHANNEL,
    COMMANDS_CHANNEL,
)

PENDING_EVENTS_TABLE = "pending_events"
NOTIFICATIONS_TABLE = "notifications"
PUSH_INBOX_TABLE = "push_inbox"
DEVICE_COMMANDS_TABLE = "device_commands"

# Queue table -> the channel that announces its new rows.
QUEUES = {
    PENDING_EVENTS_TABLE: EVENTS_CHANNEL,
    NOTIFICATIONS_TABLE: NOTIFICATIONS_CHANNEL,
    PUSH_INBOX_TABLE: PUSH_CHANNEL,
    DEVICE_COMMANDS_TABLE: COMMANDS_CHANNEL,
}


def listen_sql(channel: str) -> sql.Composed:
    """``LISTEN <channel>`` with the name quoted as an identifier; only our channels."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown NOTIFY channel {channel!r}")
    return sql.SQL("LISTEN {}").format(sql.Identifier(channel))


__all__ = [
    "CHANNELS",
    "COMMANDS_CHANNEL",
    "DEVICE_COMMANDS_TABLE",
    "EVENTS_CHANNEL",
    "INCIDENTS_CHANNEL",
    "NOTIFICATIONS_CHANNEL",
    "NOTIFICATIONS_TABLE",
    "PENDING_EVENTS_TABLE",
    "PUSH_CHANNEL",
    "PUSH_INBOX_TABLE",
    "QUEUES",
    "listen_sql",
]
