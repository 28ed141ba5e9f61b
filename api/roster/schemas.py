"""The roster import's report: every accepted row, and every refused field of every row."""

from __future__ import annotations

from pydantic import BaseModel


class AcceptedRow(BaseModel):
    row: int
    village: str
    name: str
    address: str
    site_id: int | None  # None in a dry run, or when nothing was imported
    contacts: int
    warnings: list[str]


class RejectedField(BaseModel):
    row: int
    field: str
    reason: str


class RosterReport(BaseModel):
    """``imported`` is true only when every row was valid and the whole file was stored."""

    dry_run: bool
    imported: bool
    rows: int
    accepted_count: int
    rejected_count: int
    accepted: list[AcceptedRow]
    rejected: list[RejectedField]
