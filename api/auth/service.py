"""Login with a throttle, logout, and the caller's own description."""

from __future__ import annotations

import logging
from typing import Any, cast

import psycopg
from psycopg_pool import ConnectionPool

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
    pool: ConnectionPool,
    *,
    credentials: LoginCreate,
    client_ip: str,
    settings: ApiSettings,
    passwords: Passwords,
) -> TokenRead:
    """Check the password (throttled per username and address, and per address across
    usernames; only real failures count) and issue a login token.

    No pooled connection is held while the password is hashed or waits for a hash slot: the
    attempt is reserved and the user row read on one connection, which goes back to the pool
    before hashing; the outcome is recorded on another. Beyond ``max_parallel + max_waiting``
    logins in this process the answer is 429 at once, before any database work.
    """
    keys = {
        "username": credentials.username,
        "client_ip": client_ip,
        "window_s": settings.api_login_window_s,
    }
    timeout = settings.api_pool_timeout_s
    with passwords.admit():
        with pool.connection(timeout=timeout) as conn:
            retry = _reserve_attempt(conn, keys, settings)
            row = None if retry else conn.execute(Q["user_for_login"], keys).fetchone()
            user = cast("dict[str, Any] | None", row)  # the pool was made with dict_row
        if retry:  # raised outside the block so that the reservation commits
            _throttled(keys, retry)
        ok = passwords.verify(user["password_hash"] if user else None, credentials.password)
        ok = ok and user is not None and bool(user["active"])
        new_hash = None
        if ok and user is not None and passwords.needs_rehash(user["password_hash"]):
            new_hash = passwords.hash(credentials.password)
    if not ok or user is None:
        LOGIN_FAILURES.inc()  # the attempt was counted as a failure when reserved
        raise Unauthorized("wrong username or password")
    with pool.connection(timeout=timeout) as conn:
        _release_attempt(conn, keys)
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
    retry = _reserve_attempt(conn, keys, settings)
    conn.commit()  # the attempt counts even though the request may end in an error
    if retry:
        _throttled(keys, retry)
    user = conn.execute(Q["user_password"], {"id": caller.id}).fetchone()
    if user is None or not passwords.verify(user["password_hash"], data.current_password):
        LOGIN_FAILURES.inc()
        raise BadRequest("the current password is wrong")
    row = conn.execute(
        Q["set_own_password"], {"id": caller.id, "password_hash": passwords.hash(data.new_password)}
    ).fetchone()
    assert row is not None
    _release_attempt(conn, keys)
    token, claims = issue_token(
        user_id=caller.id,
        version=row["token_version"],
        secret=settings.api_secret.get_secret_value(),
        ttl_s=settings.api_token_ttl_s,
    )
    brief = UserBrief(id=user["id"], username=user["username"], role=user["role"],
                      name=user["name"])  # fmt: skip
    return TokenRead(access_token=token, expires_at=claims.expires_at, user=brief)


def _reserve_attempt(
    conn: psycopg.Connection[Any], keys: dict[str, Any], settings: ApiSettings
) -> int:
    """Count this attempt as a failure of its (username, address) and of its address; return
    the seconds to wait when either is over its limit, else 0. The caller commits.

    A throttled attempt is given back at once: only real failures (a password checked and
    wrong) count, so hammering one locked account never adds to the address's count, and one
    account locked out never blocks another's right password from the same address (a centre
    behind one NAT). The address reaches its limit only through failures on several accounts:
    each account adds at most ``api_login_max_failures`` per window.
    """
    conn.execute(Q["purge_login_failures"], keys)  # bounded: only this window's rows stay
    pair = conn.execute(Q["reserve_login_attempt"], keys).fetchone()
    address = conn.execute(Q["reserve_login_attempt"], {**keys, "username": ""}).fetchone()
    assert pair is not None and address is not None
    retry = 0
    if pair["failures"] > settings.api_login_max_failures:
        retry = pair["retry_s"]
    if address["failures"] > settings.api_login_max_failures_per_ip:
        retry = max(retry, address["retry_s"])
    if retry:
        conn.execute(Q["give_back_login_attempt"], keys)
        conn.execute(Q["give_back_login_attempt"], {**keys, "username": ""})
    return int(retry)


def _release_attempt(conn: psycopg.Connection[Any], keys: dict[str, Any]) -> None:
    """A success: the pair's failures are forgiven, the address's reservation given back."""
    conn.execute(Q["clear_login_failures"], keys)
    conn.execute(Q["give_back_login_attempt"], {**keys, "username": ""})
    conn.execute(Q["drop_released_login_attempts"], keys)


def _throttled(keys: dict[str, Any], retry: int) -> None:
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
