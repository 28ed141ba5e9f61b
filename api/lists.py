"""Pagination and sorting shared by every list: ``?limit=50&offset=0&sort=-opened_at``.

    @router.get("/things", response_model=Page[ThingRead])
    def read_things(conn: ConnDep, caller: CallerDep, page: ListDep) -> Page[ThingRead]:
        query = sql.SQL(Q["list_things"]).format(order=order_by(page.sort, SORTS, "-id"))
        return fetch_page(conn, query, {"scope": caller.scope_like()}, page=page, model=ThingRead)

The query selects ``count(*) OVER () AS total`` besides its columns and ends with
``ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import psycopg
from fastapi import Depends, Query
from psycopg import sql
from psycopg.rows import dict_row
from pydantic import BaseModel

from api.errors import BadRequest

T = TypeVar("T", bound=BaseModel)
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """One page of a list and the total number of matches."""

    items: list[T]
    total: int
    limit: int
    offset: int


class CappedPage(Page[T], Generic[T]):
    """A page whose ``total`` stops counting at a cap (``total_capped`` then): counting a busy
    day of events would cost more than the page."""

    total_capped: bool


@dataclass(frozen=True, slots=True)
class ListParams:
    """The list parameters of a request."""

    limit: int = 50
    offset: int = 0
    sort: str | None = None


def list_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")] = 0,
    sort: Annotated[
        str | None,
        Query(pattern=r"^-?[a-z_]{1,40}$", description="field, '-' first for descending"),
    ] = None,
) -> ListParams:
    """Read ``limit``, ``offset`` and ``sort`` from the query string."""
    return ListParams(limit=limit, offset=offset, sort=sort)


ListDep = Annotated[ListParams, Depends(list_params)]


def order_by(
    sort: str | None, allowed: Mapping[str, str], default: str, *, tiebreak: str | None = None
) -> sql.Composable:
    """``ORDER BY`` body for ``sort`` (``name`` or ``-name``, a key of ``allowed``, which maps
    it to ``alias.column``; ``default`` when None). Ties are broken by ``tiebreak`` (a unique
    key of ``allowed``, ``-`` first for descending), else by ``default``, so pages never
    overlap. Columns go through :class:`psycopg.sql.Identifier`, never f-strings."""
    key = sort or default
    descending = key.startswith("-")
    name = key.lstrip("-+")
    if name not in allowed:
        raise BadRequest(f"cannot sort by {name!r}; use one of {', '.join(sorted(allowed))}")
    tie = tiebreak or default
    parts = [_term(allowed[name], descending)]
    if tie.lstrip("-") != name:
        parts.append(_term(allowed[tie.lstrip("-")], tie.startswith("-")))
    return sql.SQL(", ").join(parts)


def _term(column: str, descending: bool) -> sql.Composable:
    identifier = sql.Identifier(*column.split("."))
    direction = sql.SQL("DESC NULLS LAST" if descending else "ASC NULLS LAST")
    return sql.SQL("{} {}").format(identifier, direction)


def fetch_page(
    conn: psycopg.Connection[Any],
    query: sql.Composable | str,
    params: Mapping[str, Any],
    *,
    page: ListParams,
    model: type[T],
    item: Callable[[dict[str, Any]], T] | None = None,
    count: sql.Composable | str | None = None,
    prepare: bool | None = None,
) -> Page[T]:
    """Run a list query with the page's limit and offset; rows become ``model`` items (through
    ``item`` when a row needs more than ``model.model_validate``).

    The total is the rows' ``total`` column (``count(*) OVER ()``), or the answer of ``count``
    (``SELECT count(*) AS total`` with the same parameters) for lists whose rows cost too much
    to build for every match. ``prepare=False`` for queries with optional filters
    (``%(x)s IS NULL OR ...``): only a plan made for the actual values picks the right index
    (see api/events/service.py)."""
    values = {**params, "limit": page.limit, "offset": page.offset}
    statement: Any = sql.SQL(query) if isinstance(query, str) else query
    cur = conn.cursor(row_factory=dict_row)
    rows = cur.execute(statement, values, prepare=prepare).fetchall()
    if count is not None:
        counted: Any = sql.SQL(count) if isinstance(count, str) else count
        found = cur.execute(counted, values, prepare=prepare).fetchone()
        total = int(found["total"]) if found else 0
    else:
        total = rows[0]["total"] if rows else 0
        if not rows and page.offset > 0:  # past the end: count without the offset
            again = {**values, "offset": 0, "limit": 1}
            first = cur.execute(statement, again, prepare=prepare).fetchone()
            total = first["total"] if first else 0
    convert = item or model.model_validate
    items = [convert({k: v for k, v in row.items() if k != "total"}) for row in rows]
    return Page[T](items=items, total=total, limit=page.limit, offset=page.offset)
