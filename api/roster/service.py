"""Import a roster: validate every row, then store all of it in one transaction or nothing."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import psycopg

from api.contacts.channels import channel_problem, policy_problem
from api.errors import BadRequest
from api.registry_common import Scope, log_registry
from api.roster.parser import (
    COLUMNS,
    MAX_CONTACTS,
    TEMPLATE_HEADER,
    RosterRow,
    read_roster,
)
from api.roster.schemas import AcceptedRow, RejectedField, RosterReport
from api.roster.validate import PlannedSite, Problem, plan_row
from api.spreadsheet import csv_bytes
from core.db import load_queries

Q = load_queries("api.roster", "queries.sql")
SITES = load_queries("api.sites", "queries.sql")
CONTACTS = load_queries("api.contacts", "queries.sql")


class _Orgs:
    """Villages, communities and grids of the caller's scope, by code and by name."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.by_code = {r["code"]: r for r in rows}
        self.by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            self.by_name[r["name"]].append(r)

    def find(
        self, text: str, *, levels: tuple[str, ...], parent: int | None = None
    ) -> tuple[dict[str, Any] | None, str | None]:
        if not text:
            return None, None
        candidates = [self.by_code[text]] if text in self.by_code else self.by_name.get(text, [])
        candidates = [
            c for c in candidates
            if c["level"] in levels and (parent is None or c["parent_id"] == parent)
        ]  # fmt: skip
        if len(candidates) == 1:
            return candidates[0], None
        if not candidates:
            return None, f"{text!r} is not a {'/'.join(levels)} of your area"
        return None, f"{text!r} names {len(candidates)} places; use the code"


PHONE_SLOT = "{phone}"
_SAMPLE_PHONE = "13800000000"


def check_channel_templates(
    templates: list[str], *, schemes: tuple[str, ...], environment: str
) -> list[str]:
    """Apprise URL templates with ``{phone}`` (the programme's SMS and voice accounts), held to
    the same channel policy as a contact's own channels."""
    cleaned = [t.strip() for t in templates if t.strip()]
    for index, template in enumerate(cleaned, start=1):
        if PHONE_SLOT not in template:
            raise BadRequest(f"channel template {index} has no {PHONE_SLOT} slot")
        sample = template.replace(PHONE_SLOT, _SAMPLE_PHONE)
        problem = channel_problem(sample) or policy_problem(
            sample, schemes=schemes, environment=environment
        )
        if problem:
            raise BadRequest(f"channel template {index}: {problem}")
    return cleaned


def import_roster(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    content: bytes,
    filename: str,
    dry_run: bool,
    actor: str | None,
    channel_templates: list[str] | None = None,
    channel_schemes: tuple[str, ...],
    environment: str,
) -> RosterReport:
    """Validate every row; store everything only when no row was refused and not a dry run.

    Each imported contact gets one channel per template, ``{phone}`` replaced by its number.
    """
    templates = check_channel_templates(
        channel_templates or [], schemes=channel_schemes, environment=environment
    )
    _, rows = read_roster(content, filename=filename)
    orgs = _Orgs(
        [dict(r) for r in conn.execute(Q["organisations_in_scope"], {"scope": list(scope)})]
    )
    planned: list[PlannedSite] = []
    problems: list[Problem] = []
    for row in rows:
        org, org_problem = _resolve(orgs, row)
        site, row_problems = plan_row(row, org=org, org_problem=org_problem)
        problems += row_problems
        if site is not None:
            planned.append(site)
    problems += _duplicates(conn, planned)
    refused = {p.row for p in problems}
    accepted = [p for p in planned if p.row not in refused]
    store = not dry_run and not problems and bool(accepted)
    site_ids: dict[int, int] = {}
    if store:
        with conn.transaction():
            for plan in accepted:
                site_ids[plan.row] = _store(conn, plan, actor=actor, templates=templates)
    return RosterReport(
        dry_run=dry_run,
        imported=store,
        rows=len(rows),
        accepted_count=len(accepted),
        rejected_count=len(refused),
        accepted=[
            AcceptedRow(
                row=p.row,
                village=p.village,
                name=p.site["name"],
                address=p.site["address"],
                site_id=site_ids.get(p.row),
                contacts=len(p.contacts),
                warnings=p.warnings,
            )
            for p in accepted
        ],
        rejected=[RejectedField(row=p.row, field=p.field, reason=p.reason) for p in problems],
    )


def _resolve(orgs: _Orgs, row: RosterRow) -> tuple[dict[str, Any] | None, str | None]:
    village, problem = orgs.find(
        row.cells.get("village", ""), levels=("village", "community", "sub_district")
    )
    grid_text = row.cells.get("grid", "")
    if village is None or not grid_text:
        return village, problem
    grid, grid_problem = orgs.find(grid_text, levels=("grid",), parent=village["id"])
    return grid, grid_problem and f"网格 {grid_problem}"


def _duplicates(conn: psycopg.Connection[Any], planned: list[PlannedSite]) -> list[Problem]:
    org_ids = sorted({p.site["org_id"] for p in planned})
    existing = {
        (r["org_id"], r["address"], r["name"]): r["id"]
        for r in conn.execute(Q["existing_sites"], {"org_ids": org_ids})
    }
    seen: dict[tuple[int, str, str], int] = {}
    problems = []
    for p in planned:
        key = (p.site["org_id"], p.site["address"], p.site["name"])
        if key in existing:
            problems.append(Problem(p.row, "address", f"already on file as site {existing[key]}"))
        elif key in seen:
            problems.append(Problem(p.row, "address", f"same place as row {seen[key]}"))
        else:
            seen[key] = p.row
    return problems


def _store(
    conn: psycopg.Connection[Any], plan: PlannedSite, *, actor: str | None, templates: list[str]
) -> int:
    row = conn.execute(SITES["insert_site"], plan.site).fetchone()
    assert row is not None
    site_id = int(row["id"])
    for contact in plan.contacts:
        conn.execute(
            CONTACTS["insert_contact"],
            {
                **contact,
                "site_id": site_id,
                "org_id": None,
                "channels": [t.replace(PHONE_SLOT, contact["phone"]) for t in templates],
                "quiet_hours_start": None,
                "quiet_hours_end": None,
                "locale": "zh-CN",
                "active": True,
            },
        )
    log_registry(
        conn,
        action="roster_imported",
        actor=actor,
        site_id=site_id,
        detail={"row": plan.row, "contacts": len(plan.contacts), "warnings": plan.warnings},
    )
    return site_id


# A county's roster fits; a city exports per district (the caller's scope).
EXPORT_MAX_ROWS = 50_000


def export_roster(conn: psycopg.Connection[Any], *, scope: Scope) -> bytes:
    """The households and venues in scope as a CSV in the import's columns.

    Cells go out through api.spreadsheet, which neutralises anything a spreadsheet would run
    as a formula (the import stores such cells verbatim and only warns).
    """
    limit = {"scope": scope, "limit": EXPORT_MAX_ROWS}
    rows = conn.execute(Q["export_sites"], limit).fetchall()
    lines = []
    for row in rows:
        cells: dict[str, Any] = {key: row.get(key) for key in COLUMNS}
        for n, contact in enumerate(row["contacts"][:MAX_CONTACTS], start=1):
            cells[f"contact{n}_name"] = contact["name"]
            cells[f"contact{n}_relation"] = contact["relation"]
            cells[f"contact{n}_phone"] = contact["phone"]
        lines.append([cells.get(key) for key in COLUMNS])
    return csv_bytes(TEMPLATE_HEADER, lines)
