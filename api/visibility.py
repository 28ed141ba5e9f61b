"""What the operators' domains raise when the caller may not see something (answered 404)."""

from __future__ import annotations


class NotVisible(LookupError):
    """The object does not exist or lies outside the caller's scope; both look the same."""
