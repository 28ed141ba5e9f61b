"""The hierarchy in the caller's scope, and escalation overrides per organisation."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from api.deps import Caller
from api.errors import BadRequest, NotFound
from api.organisations.schemas import (
    EscalationOverride,
    EscalationRead,
    OrganisationCreate,
    OrganisationNode,
    OrganisationRead,
    OrganisationUpdate,
)
from core.db import load_queries

Q = load_queries("api.organisations", "queries.sql")
# A child's level must be below its parent's (village and community are one rank).
RANK = {"city": 0, "district": 1, "sub_district": 2, "village": 3, "community": 3, "grid": 4}


def read_tree(conn: psycopg.Connection[Any], *, caller: Caller) -> list[OrganisationNode]:
    """The organisations in scope as trees; the roots are the caller's scope organisations."""
    rows = conn.execute(Q["list_organisations"], {"scope": caller.scope_like()}).fetchall()
    nodes = {row["id"]: OrganisationNode.model_validate(row) for row in rows}
    roots: list[OrganisationNode] = []
    for node in nodes.values():  # ordered by path: parents come first
        parent = nodes.get(node.parent_id) if node.parent_id is not None else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    return roots


def read_organisation(
    conn: psycopg.Connection[Any], *, caller: Caller, org_id: int
) -> OrganisationRead:
    """One organisation in scope, or :class:`NotFound`."""
    row = conn.execute(
        Q["read_organisation"], {"id": org_id, "scope": caller.scope_like()}
    ).fetchone()
    if row is None:
        raise NotFound("no such organisation")
    return OrganisationRead.model_validate(row)


def create_organisation(
    conn: psycopg.Connection[Any], *, caller: Caller, data: OrganisationCreate
) -> OrganisationRead:
    """Create an organisation under one in scope (a root: unscoped administrators only)."""
    if data.parent_id is None:
        if not caller.unscoped:
            raise BadRequest("parent_id is required: you may only add inside your scope")
    else:
        try:
            parent = read_organisation(conn, caller=caller, org_id=data.parent_id)
        except NotFound as exc:
            raise BadRequest("parent_id is not an organisation in your scope") from exc
        if RANK[data.level] <= RANK[parent.level]:
            raise BadRequest(f"a {data.level} cannot be under a {parent.level}")
    row = conn.execute(Q["insert_organisation"], data.model_dump()).fetchone()
    assert row is not None
    return read_organisation(conn, caller=caller, org_id=row["id"])


def update_organisation(
    conn: psycopg.Connection[Any], *, caller: Caller, org_id: int, data: OrganisationUpdate
) -> OrganisationRead:
    """Rename an organisation in scope."""
    read_organisation(conn, caller=caller, org_id=org_id)
    changes = data.model_dump(exclude_unset=True)
    conn.execute(
        Q["update_organisation"],
        {
            "id": org_id,
            "code": changes.get("code"),
            "name": changes.get("name"),
            "set_name_en": "name_en" in changes,
            "name_en": changes.get("name_en"),
        },
    )
    return read_organisation(conn, caller=caller, org_id=org_id)


def read_escalation(
    conn: psycopg.Connection[Any], *, caller: Caller, org_id: int
) -> EscalationRead:
    """The organisation's override (empty config when it has none)."""
    read_organisation(conn, caller=caller, org_id=org_id)
    row = conn.execute(Q["read_escalation"], {"org_id": org_id}).fetchone()
    if row is None:
        return EscalationRead(org_id=org_id, config=EscalationOverride(), updated_at=None)
    known = set(EscalationOverride.model_fields)
    config = {k: v for k, v in (row["config"] or {}).items() if k in known}
    return EscalationRead(
        org_id=org_id,
        config=EscalationOverride.model_validate(config),
        updated_at=row["updated_at"],
    )


def update_escalation(
    conn: psycopg.Connection[Any], *, caller: Caller, org_id: int, data: EscalationOverride
) -> EscalationRead:
    """Replace the organisation's override (keys left out are inherited)."""
    read_organisation(conn, caller=caller, org_id=org_id)
    config = data.model_dump(exclude_none=True)
    conn.execute(Q["upsert_escalation"], {"org_id": org_id, "config": Jsonb(config)})
    return read_escalation(conn, caller=caller, org_id=org_id)


def delete_escalation(conn: psycopg.Connection[Any], *, caller: Caller, org_id: int) -> None:
    """Remove the override: the organisation inherits everything again."""
    read_organisation(conn, caller=caller, org_id=org_id)
    conn.execute(Q["delete_escalation"], {"org_id": org_id})
