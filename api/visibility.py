"""What the operators' domains raise when the caller may not see something (answered 404)."""

from __future__ import annotations

from api.errors import NotFound


class NotVisible(NotFound):
    """The object does not exist or lies outside the caller's scope; both look the same."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
