"""Errors of the command model."""

from __future__ import annotations

from core.errors import SmokewatchError


class CommandError(SmokewatchError):
    """Base of the command errors."""


class CommandUnsupported(CommandError):
    """The device's model cannot take this command."""


class CommandNotAllowed(CommandError):
    """The caller may not ask for this command now (role, incident state, household)."""


class InvalidParameters(CommandError):
    """The command's parameters are missing or out of range."""


class CommandNotFound(CommandError):
    """No such command, or not one the caller may see."""


class RoleNotAllowed(CommandNotAllowed):
    """The caller's role may never request this kind of command."""
