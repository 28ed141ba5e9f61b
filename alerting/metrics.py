"""Prometheus metrics of the alert engine (served on ``metrics_port``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter("smokewatch_alerting_events_total", "Events handled", ["type"])
ATTEMPTS = Counter("smokewatch_alerting_attempts_total", "Delivery attempts", ["scheme", "outcome"])
NOTIFICATIONS = Counter(
    "smokewatch_alerting_notifications_total", "Notifications finished", ["status"]
)
DUE_UNSENT = Gauge("smokewatch_alerting_due_unsent", "Notifications due but not yet sent")
QUEUE_AGE = Gauge(
    "smokewatch_alerting_queue_age_seconds", "Age of the oldest due, unsent notification"
)
WATCHDOG_LAST_ROUND = Gauge(
    "smokewatch_alerting_watchdog_last_round_timestamp_seconds",
    "When the offline watchdog last finished a sweep (a late watchdog hides silent homes)",
)
WATCHDOG_FLAGGED = Counter(
    "smokewatch_alerting_watchdog_flagged_total",
    "Devices the watchdog found past their deadline",
    ["reported"],
)
INGEST_ALIVE = Gauge(
    "smokewatch_alerting_ingest_alive_instances",
    "Ingest instances with a recent heartbeat and a broker connection, as alerting sees them",
)
# Set by the event processors as they work (at most every second) and by the self-watch, so
# that a storm's backlog shows while it lasts, not at the next 30 s self-watch round.
PENDING_EVENTS = Gauge("smokewatch_alerting_pending_events", "Events waiting for the alert engine")
PENDING_EVENT_AGE = Gauge(
    "smokewatch_alerting_pending_event_age_seconds",
    "How long the oldest due pending event has waited for the alert engine",
)
EVENT_WAIT = Histogram(
    "smokewatch_alerting_event_wait_seconds",
    "From an event's enqueueing to its claim by the alert engine",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
PARKED_EVENTS = Counter(
    "smokewatch_alerting_parked_events_total",
    "Events that failed every attempt and were parked in dead_letters (a fire among them paged"
    " nobody: alert on any increase)",
    ["type"],
)
SWEPT = Counter("smokewatch_alerting_swept_total", "Notifications returned after a lease expired")
EVENT_TO_DELIVERY = Histogram(
    "smokewatch_alerting_event_to_delivery_seconds",
    "From the event's arrival to a wave-1 page being accepted by the provider",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60),
)
STORAGE = Gauge(
    "smokewatch_storage",
    "Storage maintenance by its effects (sw_storage_health): rows_past_retention, "
    "oldest_row_age_s, chunks_awaiting_compression, aggregate_lag_s",
    ["metric", "table"],
)
BROKEN_DATA = Counter(
    "smokewatch_alerting_broken_data_total",
    "Broken household data a fire alarm worked around: a policy override (the defaults were"
    " used) or a contact (skipped); fix the row",
    ["kind"],
)
CENTRE_PAGED_ALARMS = Counter(
    "smokewatch_alerting_centre_paged_alarms_total",
    "Fire or heat alarms whose household could not be paged, so the monitoring centre was",
    ["reason"],
)
