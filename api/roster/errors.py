"""Errors of the roster import."""

from __future__ import annotations

from api.errors import BadRequest


class RosterUnreadable(BadRequest):
    """The file is not a CSV or XLSX roster we can read (encoding, format, no header, too big)."""

    code = "roster_unreadable"
