"""What routes declare they need: a connection, the caller, a role.

This is the only module that takes connections from the pool and decodes credentials; routes
say ``conn: ConnDep``, ``caller: CallerDep`` or a role alias (``StaffDep``, ``OperatorDep``...).

Scoping: a caller sees an organisation when its ``path`` starts with one of
``caller.scope_paths``; SQL says ``o.path LIKE ANY(%(scope)s)`` with
``scope=caller.scope_like()``. Something outside the scope is answered 404, never 403.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, cast

import psycopg
from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool

from api.errors import Forbidden, NotFound, Unauthorized
from api.security import (
    API_KEY_PREFIX,
    InvalidCredentials,
    Passwords,
    api_key_id,
    digest,
    same_digest,
)
from api.security import verify_token as verify_login_token
from api.settings import ApiSettings
from core.db import load_queries
from core.incidents.errors import InvalidToken
from core.incidents.tokens import AckClaim, verify_ack_token

Q = load_queries("api", "access_queries.sql")

SESSION_COOKIE = "sw_session"
Role = Literal["administrator", "operator", "installer", "viewer", "relative"]
CallerKind = Literal["user", "api_key", "relative"]
ROLES: tuple[Role, ...] = ("administrator", "operator", "installer", "viewer", "relative")
# Who may do what; routes take the aliases at the end of this module (StaffDep, OperatorDep...).
STAFF_ROLES: tuple[Role, ...] = ("administrator", "operator", "installer", "viewer")
FIELD_ROLES: tuple[Role, ...] = ("administrator", "operator", "installer")  # work on site
WATCH_ROLES: tuple[Role, ...] = ("administrator", "operator", "viewer")  # incidents, the board
OPERATOR_ROLES: tuple[Role, ...] = ("administrator", "operator")  # the monitoring centre


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, with which role, and which part of the hierarchy they may see."""

    kind: CallerKind
    id: int
    name: str
    role: Role
    # organisations.path prefixes; ("",) is the whole system (an unscoped administrator).
    scope_paths: tuple[str, ...]
    site_id: int | None = None  # relative only
    contact_id: int | None = None  # relative only
    username: str | None = None  # users only
    org_id: int | None = None  # the user's or key's scope organisation (None: everything)
    token_id: str | None = None  # login tokens only (logout revokes it)
    token_expires_at: datetime | None = None  # login tokens only
    token_version: int | None = None  # login tokens only (the user's token_version)
    # A relative through an alert link: the verified claim (incident and contact), carried to
    # core.incidents.links so the token is checked once, here.
    ack_claim: AckClaim | None = None

    def sees_path(self, path: str | None) -> bool:
        """True when an organisation with this ``path`` is inside the caller's scope."""
        if path is None:
            return False
        return any(path.startswith(prefix) for prefix in self.scope_paths)

    def scope_like(self) -> list[str]:
        """LIKE patterns for ``o.path LIKE ANY(%(scope)s)`` (an empty list matches nothing)."""
        return [_escape_like(prefix) + "%" for prefix in self.scope_paths]

    @property
    def unscoped(self) -> bool:
        """True for a caller that sees the whole system."""
        return "" in self.scope_paths

    @property
    def incident_id(self) -> int | None:
        """The incident an alert link names (None for everyone else)."""
        return self.ack_claim.incident_id if self.ack_claim else None

    @property
    def actor(self) -> str:
        """How the caller is named in audit logs and histories: a person's or key's name, and
        a link-holder's name marked ``(link)`` (the pages translate that mark)."""
        return f"{self.name} (link)" if self.kind == "relative" else self.name


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get_settings(request: Request) -> ApiSettings:
    """The app's settings object."""
    settings: ApiSettings = request.app.state.settings
    return settings


def get_pool(request: Request) -> ConnectionPool:
    """The app's connection pool (opened in the lifespan)."""
    pool: ConnectionPool = request.app.state.pool
    return pool


def get_passwords(request: Request) -> Passwords:
    """The app's password hasher."""
    passwords: Passwords = request.app.state.passwords
    return passwords


def get_conn(request: Request) -> Iterator[psycopg.Connection[DictRow]]:
    """A pooled connection with dict rows: committed when the route returns, rolled back when
    it raises. Released before the response is sent (``scope="function"``), so a client that
    got its answer finds the change committed."""
    pool = get_pool(request)
    with pool.connection(timeout=request.app.state.settings.api_pool_timeout_s) as conn:
        yield cast(psycopg.Connection[DictRow], conn)  # the pool was made with dict_row


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
ConnDep = Annotated[psycopg.Connection[DictRow], Depends(get_conn, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="A login token, or an API key swk_...")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key swk_...")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Session cookie")


def current_caller(
    conn: ConnDep,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Caller:
    """The authenticated caller, from an API key, a bearer login token or the session cookie."""
    presented = bearer.credentials if bearer else None
    if api_key or (presented and presented.startswith(API_KEY_PREFIX)):
        return _caller_from_key(conn, api_key or presented or "")
    if not presented and cookie and cookie.startswith(API_KEY_PREFIX):
        return _caller_from_key(conn, cookie)  # a wall screen's display key (auth/display)
    token = presented or cookie
    if not token:
        raise Unauthorized()
    return caller_from_token(conn, token, settings)


def caller_from_token(conn: psycopg.Connection[Any], token: str, settings: ApiSettings) -> Caller:
    """Verify a login token and read its user; raise :class:`Unauthorized` when invalid."""
    try:
        claims = verify_login_token(token, secret=settings.api_secret.get_secret_value())
    except InvalidCredentials as exc:
        raise Unauthorized("invalid or expired token") from exc
    row = conn.execute(Q["caller_user"], {"user_id": claims.user_id, "token_id": claims.token_id})
    user = row.fetchone()
    if (
        user is None
        or not user["active"]
        or user["revoked"]
        or user["token_version"] != claims.version
    ):
        raise Unauthorized("invalid or expired token")
    return Caller(
        kind="user",
        id=user["id"],
        name=user["name"] or user["username"],
        role=user["role"],
        scope_paths=(user["org_path"],) if user["org_id"] is not None else ("",),
        username=user["username"],
        org_id=user["org_id"],
        token_id=claims.token_id,
        token_expires_at=claims.expires_at,
        token_version=claims.version,
    )


def caller_still_valid(conn: psycopg.Connection[Any], caller: Caller) -> bool:
    """True while ``caller``'s credentials still hold: for a login token the user is active, the
    token unexpired, unrevoked and of the user's current version; for an API key it is neither
    revoked nor expired. Long-lived responses (the live feed) ask again as they go."""
    if caller.kind == "user":
        if caller.token_expires_at is not None and caller.token_expires_at <= datetime.now(UTC):
            return False
        row = conn.execute(
            Q["user_still_valid"],
            {"user_id": caller.id, "token_id": caller.token_id, "version": caller.token_version},
        ).fetchone()
    elif caller.kind == "api_key":
        row = conn.execute(Q["api_key_still_valid"], {"id": caller.id}).fetchone()
    else:
        return False
    return row is not None and bool(row["ok"])


def _caller_from_key(conn: psycopg.Connection[Any], key: str) -> Caller:
    try:
        key_id = api_key_id(key)
    except InvalidCredentials as exc:
        raise Unauthorized("invalid API key") from exc
    row = conn.execute(Q["caller_api_key"], {"key_id": key_id}).fetchone()
    if row is None or not same_digest(key, row["key_hash"]) or not row["usable"]:
        raise Unauthorized("invalid API key")
    conn.execute(Q["touch_api_key"], {"id": row["id"]})
    return Caller(
        kind="api_key",
        id=row["id"],
        name=row["name"],
        role=row["role"],
        scope_paths=(row["org_path"],) if row["org_id"] is not None else ("",),
        org_id=row["org_id"],
    )


def caller_from_key(conn: psycopg.Connection[Any], key: str) -> Caller:
    """Verify an API key and read its caller; raise :class:`Unauthorized` when invalid."""
    return _caller_from_key(conn, key)


CallerDep = Annotated[Caller, Depends(current_caller)]

_MAX_LINK_TOKEN = 200


def relative_caller(token: str, conn: ConnDep, settings: SettingsDep) -> Caller:
    """The relative behind ``{token}`` in the path: the signed link of an alert (incident and
    contact, core/incidents/tokens.py) or a personal link (relative_links). Anything invalid,
    expired or revoked is 404, so a link never tells whether something exists."""
    if len(token) > _MAX_LINK_TOKEN:
        raise NotFound(_LINK_GONE)
    if token.count(".") == 3:
        try:
            claim = verify_ack_token(token, secret=settings.ack_secret.get_secret_value())
        except InvalidToken as exc:
            raise NotFound(_LINK_GONE) from exc
        params = {"incident_id": claim.incident_id, "contact_id": claim.contact_id}
        row = conn.execute(Q["relative_from_alert"], params).fetchone()
        ack_claim: AckClaim | None = claim
    else:
        row = conn.execute(Q["relative_from_link"], {"token_hash": digest(token)}).fetchone()
        if row is not None:
            conn.execute(Q["touch_relative_link"], {"id": row["link_id"]})
        ack_claim = None
    if row is None or row["site_id"] is None:
        raise NotFound(_LINK_GONE)
    return Caller(
        kind="relative",
        id=row["contact_id"],
        name=row["contact_name"],
        role="relative",
        scope_paths=(),  # sees no organisation: only its own site, by site_id
        site_id=row["site_id"],
        contact_id=row["contact_id"],
        ack_claim=ack_claim,
    )


_LINK_GONE = "this link is not valid or has expired"
RelativeDep = Annotated[Caller, Depends(relative_caller)]


def require(*roles: Role) -> Any:
    """A dependency returning the caller when its role is one of ``roles``, else 403.

    Use as ``caller: Annotated[Caller, require("administrator", "operator")]``.
    """
    allowed = frozenset(roles)
    unknown = allowed - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    def check_role(caller: CallerDep) -> Caller:
        if caller.role not in allowed:
            raise Forbidden()
        return caller

    return Depends(check_role)


AdminDep = Annotated[Caller, require("administrator")]
StaffDep = Annotated[Caller, require(*STAFF_ROLES)]
FieldWorkerDep = Annotated[Caller, require(*FIELD_ROLES)]
WatcherDep = Annotated[Caller, require(*WATCH_ROLES)]
OperatorDep = Annotated[Caller, require(*OPERATOR_ROLES)]
