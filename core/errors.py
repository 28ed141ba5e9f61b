"""Exceptions shared by every smokewatch service."""


class SmokewatchError(Exception):
    """Base class of every error raised on purpose by smokewatch."""


class ConfigurationError(SmokewatchError):
    """A setting is missing, malformed or unsafe for the chosen environment."""


class DatabaseUnavailable(SmokewatchError):
    """PostgreSQL cannot be reached or refused the connection; the caller should retry later."""


class MigrationError(SmokewatchError):
    """A migration file is malformed, was edited after being applied, or failed to apply."""


class DecodeError(SmokewatchError):
    """A device message could not be turned into canonical records.

    ``code`` is a short machine-readable reason stored in the dead-letter table;
    the message is the human-readable explanation.
    """

    def __init__(self, code: str, message: str, *, device_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.device_id = device_id
