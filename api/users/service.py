"""Users and API keys: administrators manage them inside their own scope.

An administrator scoped to an organisation creates, reads and changes users and keys only in
that organisation's subtree, and can never create an unscoped account; only an unscoped
administrator manages other unscoped administrators.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from api.deps import Caller
from api.errors import BadRequest, Conflict, NotFound
from api.lists import ListParams, Page, fetch_page, order_by
from api.security import Passwords, digest, new_api_key
from api.users.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from core.db import load_queries
from core.errors import SmokewatchError

Q = load_queries("api.users", "queries.sql")
MIN_PASSWORD_LENGTH = 10
USER_SORTS = {
    "id": "u.id",
    "username": "u.username",
    "name": "u.name",
    "role": "u.role",
    "created_at": "u.created_at",
    "last_login_at": "u.last_login_at",
}
KEY_SORTS = {"id": "k.id", "name": "k.name", "created_at": "k.created_at"}


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
    except psycopg.errors.ForeignKeyViolation as exc:
        raise UserError(f"no organisation with id {org_id}") from exc
    assert row is not None
    user_id: int = row["id"]
    return user_id


def _scope(caller: Caller) -> dict[str, Any]:
    return {"scope": caller.scope_like(), "unscoped": caller.unscoped}


def check_org_assignable(
    conn: psycopg.Connection[Any], *, caller: Caller, org_id: int | None, role: str
) -> None:
    """The caller may put an account (``role``) in ``org_id``: inside its scope, and unscoped
    only when the caller is unscoped and the role is administrator."""
    if org_id is None:
        if not caller.unscoped:
            raise BadRequest("org_id is required: you may only create accounts in your scope")
        if role != "administrator":
            raise BadRequest("org_id is required for every role but administrator")
        return
    if conn.execute(Q["organisation_in_scope"], {"org_id": org_id, **_scope(caller)}).fetchone():
        return
    raise BadRequest("org_id is not an organisation in your scope")


def create_user(
    conn: psycopg.Connection[Any], *, caller: Caller, data: UserCreate, passwords: Passwords
) -> UserRead:
    """Create a user in the caller's scope."""
    check_org_assignable(conn, caller=caller, org_id=data.org_id, role=data.role)
    try:
        user_id = insert_user(
            conn,
            username=data.username,
            name=data.name,
            role=data.role,
            password=data.password,
            passwords=passwords,
            org_id=data.org_id,
            locale=data.locale,
        )
    except UserError as exc:
        raise Conflict(str(exc)) if "taken" in str(exc) else BadRequest(str(exc)) from exc
    return read_user(conn, caller=caller, user_id=user_id)


def list_users(
    conn: psycopg.Connection[Any],
    *,
    caller: Caller,
    page: ListParams,
    role: str | None = None,
    active: bool | None = None,
    org_id: int | None = None,
    q: str | None = None,
) -> Page[UserRead]:
    """Users in the caller's scope, filtered."""
    query = sql.SQL(Q["list_users"]).format(order=order_by(page.sort, USER_SORTS, "username"))
    pattern = f"%{_escape_like(q)}%" if q else None
    params = {"role": role, "active": active, "org_id": org_id, "q": pattern, **_scope(caller)}
    return fetch_page(conn, query, params, page=page, model=UserRead)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def read_user(conn: psycopg.Connection[Any], *, caller: Caller, user_id: int) -> UserRead:
    """One user in the caller's scope, or :class:`NotFound`."""
    row = conn.execute(Q["read_user"], {"id": user_id, **_scope(caller)}).fetchone()
    if row is None:
        raise NotFound("no such user")
    return UserRead.model_validate(row)


def update_user(
    conn: psycopg.Connection[Any],
    *,
    caller: Caller,
    user_id: int,
    data: UserUpdate,
    passwords: Passwords | None,
) -> UserRead:
    """Change a user in the caller's scope; security-relevant changes log them out."""
    current = read_user(conn, caller=caller, user_id=user_id)
    changes = data.model_dump(exclude_unset=True)
    set_org = "org_id" in changes
    role = changes.get("role") or current.role
    if set_org or "role" in changes:
        org_id = changes["org_id"] if set_org else current.org_id
        check_org_assignable(conn, caller=caller, org_id=org_id, role=role)
    if (
        caller.kind == "user"
        and caller.id == user_id
        and (changes.get("active") is False or set_org or role != current.role)
    ):
        raise BadRequest("you cannot deactivate yourself or change your own role or scope")
    password_hash = None
    if changes.get("password") is not None:
        assert passwords is not None, "a password change needs the hasher"
        password_hash = passwords.hash(changes["password"])
    logout = password_hash is not None or set_org or "role" in changes
    logout = logout or changes.get("active") is False
    conn.execute(
        Q["update_user"],
        {
            "id": user_id,
            "name": changes.get("name"),
            "password_hash": password_hash,
            "role": changes.get("role"),
            "set_org": set_org,
            "org_id": changes.get("org_id"),
            "locale": changes.get("locale"),
            "active": changes.get("active"),
            "logout": logout,
        },
    )
    if changes.get("active") is False:
        # Same transaction (the route's connection commits both or neither): keys the user
        # created must not outlive their account.
        conn.execute(Q["revoke_keys_of_user"], {"id": user_id})
    return read_user(conn, caller=caller, user_id=user_id)


def delete_user(conn: psycopg.Connection[Any], *, caller: Caller, user_id: int) -> None:
    """Deactivate a user (rows stay for the audit trail), log them out and revoke the API keys
    they created (see :func:`update_user`)."""
    update_user(
        conn,
        caller=caller,
        user_id=user_id,
        data=UserUpdate(active=False),
        passwords=None,
    )


def create_api_key(
    conn: psycopg.Connection[Any], *, caller: Caller, data: ApiKeyCreate
) -> ApiKeyCreated:
    """A new key in the caller's scope; the key itself is returned this once."""
    check_org_assignable(conn, caller=caller, org_id=data.org_id, role=data.role)
    key, key_id = new_api_key()
    row = conn.execute(
        Q["insert_api_key"],
        {
            "key_id": key_id,
            "key_hash": digest(key),
            "name": data.name,
            "role": data.role,
            "org_id": data.org_id,
            "created_by": caller.id if caller.kind == "user" else None,
            "expires_at": data.expires_at,
        },
    ).fetchone()
    return ApiKeyCreated.model_validate({**(row or {}), "key": key})


def list_api_keys(
    conn: psycopg.Connection[Any], *, caller: Caller, page: ListParams, include_revoked: bool
) -> Page[ApiKeyRead]:
    """Keys in the caller's scope."""
    query = sql.SQL(Q["list_api_keys"]).format(order=order_by(page.sort, KEY_SORTS, "-id"))
    params = {"include_revoked": include_revoked, **_scope(caller)}
    return fetch_page(conn, query, params, page=page, model=ApiKeyRead)


def delete_api_key(conn: psycopg.Connection[Any], *, caller: Caller, key_id: int) -> None:
    """Revoke a key in the caller's scope (idempotent)."""
    if conn.execute(Q["revoke_api_key"], {"id": key_id, **_scope(caller)}).fetchone() is None:
        raise NotFound("no such API key")
