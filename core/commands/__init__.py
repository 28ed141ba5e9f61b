"""Device commands (issue 19): the model and rules (model.py) and the lifecycle (lifecycle.py)."""

from core.commands.errors import (
    CommandError,
    CommandNotAllowed,
    CommandNotFound,
    CommandUnsupported,
    InvalidParameters,
    RoleNotAllowed,
)
from core.commands.lifecycle import (
    claim_due,
    device_commands,
    expire_due,
    finish_command,
    finish_external,
    finish_oldest_sent,
    incident_commands,
    note_external_id,
    read_command,
    request_command,
)
from core.commands.model import (
    CAPABILITIES,
    LIVE_STATES,
    Kind,
    Requester,
    State,
    Support,
    support_for,
)

__all__ = [
    "CAPABILITIES",
    "LIVE_STATES",
    "CommandError",
    "CommandNotAllowed",
    "CommandNotFound",
    "CommandUnsupported",
    "InvalidParameters",
    "Kind",
    "Requester",
    "RoleNotAllowed",
    "State",
    "Support",
    "claim_due",
    "device_commands",
    "expire_due",
    "finish_command",
    "finish_external",
    "finish_oldest_sent",
    "incident_commands",
    "note_external_id",
    "read_command",
    "request_command",
    "support_for",
]
