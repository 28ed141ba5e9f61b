"""``/api/v1/auth``: login and logout; ``/api/v1/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from psycopg_pool import ConnectionPool

from api.auth import service
from api.auth.schemas import DisplayCreate, LoginCreate, MeRead, PasswordUpdate, TokenRead
from api.deps import (
    SESSION_COOKIE,
    CallerDep,
    ConnDep,
    PasswordsDep,
    SettingsDep,
    caller_from_key,
    get_pool,
)
from api.errors import Forbidden
from api.settings import ApiSettings

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=TokenRead)
def create_token(
    *,
    credentials: LoginCreate,
    request: Request,
    response: Response,
    pool: Annotated[ConnectionPool, Depends(get_pool)],
    settings: SettingsDep,
    passwords: PasswordsDep,
) -> TokenRead:
    """Log in: a bearer token in the body, the same token in the ``sw_session`` cookie.

    Takes the pool, not a connection: none is held while the password is hashed."""
    client_ip = request.client.host if request.client else "unknown"
    token = service.create_token(
        pool,
        credentials=credentials,
        client_ip=client_ip,
        settings=settings,
        passwords=passwords,
    )
    _set_session_cookie(response, token, settings)
    return token


@router.put("/me/password", response_model=TokenRead)
def update_password(
    *,
    data: PasswordUpdate,
    request: Request,
    response: Response,
    caller: CallerDep,
    conn: ConnDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
) -> TokenRead:
    """Change your own password: your other sessions end; this answer carries a new token."""
    token = service.update_password(
        conn,
        caller=caller,
        data=data,
        client_ip=request.client.host if request.client else "unknown",
        settings=settings,
        passwords=passwords,
    )
    _set_session_cookie(response, token, settings)
    return token


def _set_session_cookie(response: Response, token: TokenRead, settings: ApiSettings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token.access_token,
        max_age=settings.api_token_ttl_s,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
        path="/",
    )


# Roles a wall screen may run as: watching (viewer) or a centre's own screen (operator); never
# an administrator's or installer's key left on a screen in a public room.
_DISPLAY_ROLES = ("viewer", "operator")


@router.post("/auth/display", status_code=204)
def create_display_session(data: DisplayCreate, conn: ConnDep, settings: SettingsDep) -> Response:
    """Put a wall screen in service with an API key made for it: the key goes in the
    ``sw_session`` cookie for ``api_display_cookie_ttl_s`` (not the 12-hour login lifetime);
    revoking the key ends the display at once."""
    caller = caller_from_key(conn, data.api_key)
    if caller.role not in _DISPLAY_ROLES:
        raise Forbidden("a display key must have the viewer or operator role")
    response = Response(status_code=204)
    response.set_cookie(
        SESSION_COOKIE,
        data.api_key,
        max_age=settings.api_display_cookie_ttl_s,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
        path="/",
    )
    return response


@router.post("/auth/logout", status_code=204)
def delete_token(caller: CallerDep, conn: ConnDep, settings: SettingsDep) -> Response:
    """Log out: the token in use stops working at once and the cookie is cleared."""
    service.delete_token(conn, caller=caller)
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, secure=settings.cookie_secure, samesite="strict"
    )
    return response


@router.get("/me", response_model=MeRead)
def read_me(caller: CallerDep, conn: ConnDep) -> MeRead:
    """Who is calling: identity, role, scope."""
    return service.read_me(conn, caller=caller)
