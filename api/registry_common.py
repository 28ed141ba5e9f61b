"""Pieces the registry domains share: the registry history log, UPDATE assignments, scope.

Lists (pages, ORDER BY) are api/lists.py's, as for every other domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from core.db import load_queries

Q = load_queries("api", "registry_common.sql")

__all__ = ["Scope", "assignments", "compose", "log_registry"]

Scope = Sequence[str]
"""``organisations.path LIKE`` patterns the caller may see, e.g. ``['1.4.%']``."""


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
