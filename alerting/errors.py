"""Errors raised on purpose by the alert engine."""

from core.errors import SmokewatchError


class AlertingError(SmokewatchError):
    """Base class of alerting errors."""


class TemplateMissing(AlertingError):
    """No message template exists for this event kind, channel and locale."""


class ChannelError(AlertingError):
    """A notification channel URL is malformed or names a provider we cannot reach."""
