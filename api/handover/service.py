"""Shift handover log: list what earlier shifts wrote, add an entry for the next one."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.handover.schemas import HandoverCreate, HandoverRead
from core.db import load_queries

Q = load_queries("api.handover", "queries.sql")


def list_handovers(
    conn: psycopg.Connection[Any], *, scope: list[str], limit: int = 50, offset: int = 0
) -> list[HandoverRead]:
    """Newest first: entries of the caller's scope and of the organisations above it."""
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(Q["list_handovers"], {"scope": scope, "limit": limit, "offset": offset})
        .fetchall()
    )
    return [HandoverRead(**r) for r in rows]


def create_handover(
    conn: psycopg.Connection[Any],
    *,
    scope: list[str],
    org_id: int | None,
    author: str,
    data: HandoverCreate,
) -> HandoverRead:
    """Write an entry, with how many incidents are open in the writer's scope right now."""
    cur = conn.cursor(row_factory=dict_row)
    open_now = cur.execute(Q["open_incidents_in_scope"], {"scope": scope}).fetchone()
    row = cur.execute(
        Q["insert_handover"],
        {
            "author": author,
            "org_id": org_id,
            "note": data.note,
            "open_incidents": int(open_now["n"]) if open_now else 0,
        },
    ).fetchone()
    assert row is not None
    return HandoverRead(**row)
