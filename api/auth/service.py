"""Login with a throttle, logout, and the caller's own description."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import psycopg

from api.auth.schemas import (
    LoginCreate,
    MeRead,
    OrganisationBrief,
    PasswordUpdate,
    TokenRead,
    UserBrief,
)
from api.deps import Caller
from api.errors import BadRequest, Forbidden, TooManyRequests, Unauthorized
from api.metrics import LOGIN_FAILURES
from api.security import Passwords, issue_token
from api.settings import ApiSettings
from core.db import load_queries

Q = load_queries("api.auth", "queries.sql")
log = logging.getLogger(__name__)


def create_token(
    conn: psycopg.Connection[Any],
    *,
    credentials: LoginCreate,
    client_ip: str,
    settings: ApiSettings,
    passwords: Passwords,
) -> TokenRead:
    """Check the password (throttled per username and address) and issue a login token."""
    keys = {
        "username": credentials.username,
        "client_ip": client_ip,
        "window_s": settings.api_login_window_s,
    }
    _check_throttle(conn, keys, settings)
    user = conn.execute(Q["user_for_login"], keys).fetchone()
    ok = passwords.verify(user["password_hash"] if user else None, credentials.password)
    if not ok or user is None or not user["active"]:
        LOGIN_FAILURES.inc()
        conn.execute(Q["purge_login_failures"], keys)  # bounded: only this window's rows stay
        conn.execute(Q["record_login_failure"], keys)
        conn.commit()  # the failure counts even though the request ends in an error
        raise Unauthorized("wrong username or password")
    new_hash = None
    if passwords.needs_rehash(user["password_hash"]):
        new_hash = passwords.hash(credentials.password)
    conn.execute(Q["clear_login_failures"], keys)
    conn.execute(Q["record_login"], {"id": user["id"], "new_hash": new_hash})
    token, claims = issue_token(
        user_id=user["id"],
        version=user["token_version"],
        secret=settings.api_secret.get_secret_value(),
        ttl_s=settings.api_token_ttl_s,
    )
    return TokenRead(
        access_token=token,
        expires_at=claims.expires_at,
        user=UserBrief(
            id=user["id"], username=user["username"], role=user["role"], name=user["name"]
        ),
    )


def update_password(
    conn: psycopg.Connection[Any],
    *,
    caller: Caller,
    data: PasswordUpdate,
    client_ip: str,
    settings: ApiSettings,
    passwords: Passwords,
) -> TokenRead:
    """Change the caller's own password; every other session ends, a new token is returned.

    A wrong current password counts as a failed login (same throttle), so a stolen session
    cannot be used to guess the password."""
    if caller.kind != "user" or caller.username is None:
        raise Forbidden("only people with a login have a password")
    keys = {"username": caller.username, "client_ip": client_ip,
            "window_s": settings.api_login_window_s}  # fmt: skip
    _check_throttle(conn, keys, settings)
    user = conn.execute(Q["user_password"], {"id": caller.id}).fetchone()
    if user is None or not passwords.verify(user["password_hash"], data.current_password):
        LOGIN_FAILURES.inc()
        conn.execute(Q["record_login_failure"], keys)
        conn.commit()
        raise BadRequest("the current password is wrong")
    row = conn.execute(
        Q["set_own_password"], {"id": caller.id, "password_hash": passwords.hash(data.new_password)}
    ).fetchone()
    assert row is not None
    conn.execute(Q["clear_login_failures"], keys)
    token, claims = issue_token(
        user_id=caller.id,
        version=row["token_version"],
        secret=settings.api_secret.get_secret_value(),
        ttl_s=settings.api_token_ttl_s,
    )
    brief = UserBrief(id=user["id"], username=user["username"], role=user["role"],
                      name=user["name"])  # fmt: skip
    return TokenRead(access_token=token, expires_at=claims.expires_at, user=brief)


def _check_throttle(
    conn: psycopg.Connection[Any], keys: dict[str, Any], settings: ApiSettings
) -> None:
    throttle = conn.execute(Q["login_failures"], keys).fetchone()
    if (
        throttle
        and throttle["in_window"]
        and throttle["failures"] >= settings.api_login_max_failures
    ):
        retry = max(1, int((throttle["window_end"] - _now(conn)).total_seconds()))
        LOGIN_FAILURES.inc()
        log.warning("login throttled for %s from %s", keys["username"], keys["client_ip"])
        raise TooManyRequests(headers={"Retry-After": str(retry)})


def delete_token(conn: psycopg.Connection[Any], *, caller: Caller) -> None:
    """Revoke the caller's login token until it would have expired anyway (API keys: no-op)."""
    if caller.token_id is None or caller.token_expires_at is None:
        return
    conn.execute(Q["purge_revoked_tokens"])
    conn.execute(
        Q["revoke_token"], {"token_id": caller.token_id, "expires_at": caller.token_expires_at}
    )


def read_me(conn: psycopg.Connection[Any], *, caller: Caller) -> MeRead:
    """The caller's identity, role and scope."""
    organisation = None
    locale = None
    if caller.kind == "user":
        row = conn.execute(Q["me_user"], {"id": caller.id}).fetchone()
        locale = row["locale"] if row else None
    if caller.org_id is not None:
        org = conn.execute(Q["organisation_brief"], {"id": caller.org_id}).fetchone()
        organisation = OrganisationBrief(**org) if org else None
    return MeRead(
        kind=caller.kind,
        id=caller.id,
        name=caller.name,
        role=caller.role,
        username=caller.username,
        organisation=organisation,
        scope_paths=list(caller.scope_paths),
        locale=locale,
    )


def _now(conn: psycopg.Connection[Any]) -> datetime:
    row = conn.execute("SELECT now() AS now").fetchone()
    assert row is not None
    now: datetime = row["now"]
    return now
