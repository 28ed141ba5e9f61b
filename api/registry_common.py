"""Pieces the registry domains share: list pages, safe ORDER BY, the registry history log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from api.errors import BadRequest
from api.lists import Page
from core.db import load_queries

Q = load_queries("api", "registry_common.sql")

__all__ = ["Page", "Scope", "assignments", "compose", "log_registry", "order_by"]

Scope = Sequence[str]
"""``organisations.path LIKE`` patterns the caller may see, e.g. ``['1.4.%']``."""


def order_by(sort: str, allowed: Mapping[str, str], *, tiebreak: str) -> sql.Composable:
    """``ORDER BY`` for ``sort`` (``name`` or ``-name``) among ``allowed`` public->column names.

    Columns go through :class:`psycopg.sql.Identifier` (dotted names split), never f-strings.
    """
    descending = sort.startswith("-")
    key = sort.lstrip("-+")
    if key not in allowed:
        raise BadRequest(f"cannot sort by {key!r}; use one of {', '.join(sorted(allowed))}")
    column = sql.Identifier(*allowed[key].split("."))
    direction = sql.SQL("DESC NULLS LAST" if descending else "ASC NULLS LAST")
    tie = sql.Identifier(*tiebreak.split("."))
    return sql.SQL("ORDER BY {} {}, {}").format(column, direction, tie)


def compose(query: str, **parts: sql.Composable) -> sql.Composed:
    """A query from a .sql file with ``{name}`` slots filled by composed SQL fragments."""
    return sql.SQL(query).format(**parts)


def log_registry(
    conn: psycopg.Connection[Any],
    *,
    action: str,
    actor: str | None,
    site_id: int | None = None,
    device_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one line to the registry history (``registry_log``)."""
    conn.execute(
        Q["log_registry"],
        {
            "action": action,
            "actor": actor,
            "site_id": site_id,
            "device_id": device_id,
            "detail": Jsonb(detail) if detail is not None else None,
        },
    )


def like_patterns(scope: Scope) -> list[str]:
    """The scope as a list for ``LIKE ANY(%(scope)s)`` (an empty scope sees nothing)."""
    return list(scope)


def assignments(fields: Sequence[str]) -> sql.Composed:
    """``a = %(a)s, b = %(b)s`` for an UPDATE of the columns the client sent."""
    return sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in fields
    )
