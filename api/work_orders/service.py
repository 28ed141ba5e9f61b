"""Work orders for operators: list, read, close with a reason, assign to a maintainer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from api.errors import Conflict
from api.lists import ListParams, Page, fetch_page, order_by
from api.visibility import NotVisible
from api.work_orders.schemas import WorkOrderRead
from core.db import load_queries

Q = load_queries("api.work_orders", "queries.sql")
Row = dict[str, Any]


class WorkOrderClosed(Conflict):
    """The work order is already closed."""


def _cur(conn: psycopg.Connection[Any]) -> psycopg.Cursor[Row]:
    return conn.cursor(row_factory=dict_row)


# Sort keys as the list query names its columns (api/work_orders/queries.sql).
SORTS = {"opened_at": "opened_at", "last_event_at": "last_event_at", "id": "id"}


def list_work_orders(
    conn: psycopg.Connection[Any],
    *,
    scope: list[str],
    status: str | None = None,
    kind: str | None = None,
    org_id: int | None = None,
    site_id: int | None = None,
    device_id: str | None = None,
    sort: str = "-opened_at",
    limit: int = 50,
    offset: int = 0,
    work_order_id: int | None = None,
) -> Page[WorkOrderRead]:
    """One page of work orders in scope, and how many match in all."""
    order = order_by(sort, SORTS, "-opened_at", tiebreak="-id")
    params = {
        "scope": scope,
        "status": status,
        "kind": kind,
        "org_id": org_id,
        "site_id": site_id,
        "device_id": device_id,
        "id": work_order_id,
    }
    return fetch_page(
        conn, sql.SQL(Q["list_work_orders"]).format(order=order), params,
        page=ListParams(limit=limit, offset=offset, sort=sort), model=WorkOrderRead,
        prepare=False,  # plans for the actual filters (see api.lists.fetch_page)
    )  # fmt: skip


def read_work_order(
    conn: psycopg.Connection[Any], *, scope: list[str], work_order_id: int
) -> WorkOrderRead:
    """One work order, or :class:`NotVisible`."""
    found = list_work_orders(conn, scope=scope, work_order_id=work_order_id, limit=1).items
    if not found:
        raise NotVisible(f"work order {work_order_id}")
    return found[0]


def _lock(conn: psycopg.Connection[Any], *, scope: list[str], work_order_id: int) -> Row:
    row = _cur(conn).execute(Q["lock_work_order"], {"id": work_order_id, "scope": scope}).fetchone()
    if row is None:
        raise NotVisible(f"work order {work_order_id}")
    return row


def close_work_order(
    conn: psycopg.Connection[Any],
    *,
    scope: list[str],
    work_order_id: int,
    reason: str,
    note: str | None = None,
    now: datetime | None = None,
) -> WorkOrderRead:
    """Close an open work order with the reason; closing twice is a conflict."""
    with conn.transaction():
        _lock(conn, scope=scope, work_order_id=work_order_id)
        done = (
            _cur(conn)
            .execute(
                Q["close_work_order"],
                {
                    "id": work_order_id,
                    "reason": reason,
                    "note": note,
                    "now": now or datetime.now(UTC),
                },
            )
            .fetchone()
        )
        if done is None:
            raise WorkOrderClosed(f"work order {work_order_id} is already closed")
    return read_work_order(conn, scope=scope, work_order_id=work_order_id)


def assign_work_order(
    conn: psycopg.Connection[Any],
    *,
    scope: list[str],
    work_order_id: int,
    contact_id: int | None,
    note: str | None = None,
) -> WorkOrderRead:
    """Give the job to a contact the caller sees (a maintainer, a grid worker)."""
    with conn.transaction():
        locked = _lock(conn, scope=scope, work_order_id=work_order_id)
        if locked["status"] != "open":
            raise WorkOrderClosed(f"work order {work_order_id} is closed")
        if contact_id is not None:
            contact = (
                _cur(conn)
                .execute(
                    Q["contact_for_assignment"],
                    {"contact_id": contact_id, "scope": scope, "site_path": locked["path"]},
                )
                .fetchone()
            )
            if contact is None:
                raise NotVisible(f"contact {contact_id}")
        _cur(conn).execute(
            Q["assign_work_order"], {"id": work_order_id, "contact_id": contact_id, "note": note}
        )
    return read_work_order(conn, scope=scope, work_order_id=work_order_id)
