"""Errors of the incident lifecycle; the API maps each to one HTTP answer."""

from core.errors import SmokewatchError


class IncidentError(SmokewatchError):
    """Base class of every incident lifecycle error."""


class IncidentNotFound(IncidentError):
    """No incident has this id."""


class IncidentClosed(IncidentError):
    """The incident is already resolved; it can no longer be acknowledged or changed."""


class InvalidTransition(IncidentError):
    """The requested change does not follow from the incident's current state."""


class OutcomeRequired(IncidentError):
    """Resolving needs a valid outcome, and a false alarm needs its cause."""


class InvalidToken(IncidentError):
    """An acknowledge token is malformed, forged, expired, or meant for another incident."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid acknowledge token: {reason}")
        self.reason = reason


class FieldCannotClose(IncidentError):
    """A link-holder tried to close a fire or heat incident; only the centre closes those."""
