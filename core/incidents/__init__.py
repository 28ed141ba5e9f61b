"""The incident lifecycle shared by alerting and the API (see lifecycle.py and tokens.py)."""

from core.incidents.errors import (
    IncidentClosed,
    IncidentError,
    IncidentNotFound,
    InvalidToken,
    InvalidTransition,
    OutcomeRequired,
)
from core.incidents.lifecycle import (
    FalseAlarmCause,
    Opened,
    Outcome,
    Status,
    acknowledge_incident,
    add_note,
    assign_incident,
    log_action,
    mark_device_state,
    open_or_join,
    resolve_incident,
    start_progress,
)
from core.incidents.links import acknowledge_by_link, resolve_by_link
from core.incidents.tokens import AckClaim, check_ack_secret, make_ack_token, verify_ack_token
from core.incidents.views import (
    describe_incident,
    get_incident,
    incident_attempts,
    incident_log,
)

__all__ = [
    "AckClaim",
    "FalseAlarmCause",
    "IncidentClosed",
    "IncidentError",
    "IncidentNotFound",
    "InvalidToken",
    "InvalidTransition",
    "Opened",
    "Outcome",
    "OutcomeRequired",
    "Status",
    "acknowledge_by_link",
    "acknowledge_incident",
    "add_note",
    "assign_incident",
    "check_ack_secret",
    "describe_incident",
    "get_incident",
    "incident_attempts",
    "incident_log",
    "log_action",
    "make_ack_token",
    "mark_device_state",
    "open_or_join",
    "resolve_by_link",
    "resolve_incident",
    "start_progress",
    "verify_ack_token",
]
