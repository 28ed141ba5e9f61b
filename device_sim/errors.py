"""Exceptions raised by the device simulator."""

from core.errors import SmokewatchError


class SimError(SmokewatchError):
    """Base class of every error the simulator raises on purpose."""


class SimConfigError(SimError):
    """The simulation was asked for something it cannot do (unknown scenario, no bound, ...)."""


class BrokerUnavailable(SimError):
    """The MQTT broker could not be reached, or refused the connection, within the time allowed."""


class PublishTimeout(SimError):
    """The broker did not acknowledge every published message within the time allowed."""

    def __init__(self, message: str, *, published: int, acked: int, rejected: int) -> None:
        super().__init__(message)
        self.published = published
        self.acked = acked
        self.rejected = rejected
