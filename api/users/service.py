"""Users: create, list, read, update, deactivate (administrators, inside their scope)."""

from __future__ import annotations

from typing import Any

import psycopg

from api.security import Passwords
from core.db import load_queries
from core.errors import SmokewatchError

Q = load_queries("api.users", "queries.sql")
MIN_PASSWORD_LENGTH = 10


class UserError(SmokewatchError):
    """A user cannot be created or changed as asked (unknown organisation, weak password...)."""


def check_password(password: str) -> str:
    """Refuse passwords too short to resist guessing (NIST 800-63B: length, not composition)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return password


def insert_user(
    conn: psycopg.Connection[Any],
    *,
    username: str,
    name: str,
    role: str,
    password: str,
    passwords: Passwords,
    org_code: str | None = None,
    org_id: int | None = None,
    locale: str = "zh-CN",
) -> int:
    """Insert a user (org by id or code) and return its id; the caller commits."""
    if org_code is not None:
        org = conn.execute(Q["organisation_by_code"], {"code": org_code}).fetchone()
        if org is None:
            raise UserError(f"no organisation with code {org_code!r}")
        org_id = org["id"]
    if org_id is None and role != "administrator":
        raise UserError("only an administrator may have no organisation scope")
    check_password(password)
    try:
        with conn.transaction():
            row = conn.execute(
                Q["insert_user"],
                {
                    "username": username,
                    "name": name,
                    "password_hash": passwords.hash(password),
                    "role": role,
                    "org_id": org_id,
                    "locale": locale,
                },
            ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise UserError(f"the username {username!r} is taken") from exc
    except psycopg.errors.CheckViolation as exc:
        raise UserError(f"not a valid user: {exc.diag.constraint_name}") from exc
    assert row is not None
    user_id: int = row["id"]
    return user_id
