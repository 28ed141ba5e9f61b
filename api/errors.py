"""API errors and the handlers that give every error response one body shape.

    {"error": {"code": "not_found", "message": "...", "fields": [{"field": "body.name",
               "message": "..."}]}}          # "fields" only for 422

Routes raise the :class:`ApiError` subclasses; the domain errors of ``core`` (incidents,
commands) and of the password hasher are answered here from one table (``DOMAIN_ERRORS``), so
routes let them through instead of catching and re-raising; FastAPI's own errors (validation,
unknown path, wrong method) and database errors are translated here too, so no response ever
carries a traceback or a SQL message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import errors as pg
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.security import HashSlotTimeout, LoginQueueFull
from core.broker_auth import BrokerAuthError
from core.commands.errors import (
    CommandNotAllowed,
    CommandNotFound,
    CommandUnsupported,
    InvalidParameters,
    RoleNotAllowed,
)
from core.errors import DatabaseUnavailable, SmokewatchError
from core.incidents.errors import (
    FieldCannotClose,
    IncidentClosed,
    IncidentNotFound,
    InvalidTransition,
    OutcomeRequired,
)

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(Exception):
    """An error the client caused or must know about; the base of every API error."""

    status_code = 400
    code = "bad_request"
    default_message = "bad request"

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.headers = headers


class BadRequest(ApiError):
    """The request is well formed but cannot be carried out as asked."""


class Unauthorized(ApiError):
    """No valid credentials came with the request."""

    status_code = 401
    code = "unauthorized"
    default_message = "authentication required"

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(message, headers=headers or {"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    """The caller is known but its role does not allow this."""

    status_code = 403
    code = "forbidden"
    default_message = "not allowed for your role"


class NotFound(ApiError):
    """Nothing there, or nothing the caller may see (the two are never told apart)."""

    status_code = 404
    code = "not_found"
    default_message = "not found"


class Conflict(ApiError):
    """The request clashes with the current state (a duplicate, a stale change)."""

    status_code = 409
    code = "conflict"
    default_message = "conflicts with the current state"


class SenderUnproven(ApiError):
    """An unauthenticated push (a carrier platform's, a provider's callback) lacks the shared
    token or signature that proves its sender; nothing is stored."""

    status_code = 401
    code = "unauthorized"
    default_message = "wrong or missing push token"


class TooManyRequests(ApiError):
    """The caller must wait before trying again (login throttle)."""

    status_code = 429
    code = "too_many_requests"
    default_message = "too many attempts, try again later"


class Unavailable(ApiError):
    """A dependency (database, broker) cannot serve the request now; retry later."""

    status_code = 503
    code = "unavailable"
    default_message = "service temporarily unavailable"


def error_body(
    code: str, message: str, fields: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """The one error body shape."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = fields
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    fields: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, fields), status_code=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES.get(exc.status_code, "error" if exc.status_code < 500 else "internal_error")
    detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, detail, headers=headers)


def validation_fields(errors: Any) -> list[dict[str, str]]:
    """Pydantic's error list as ``[{"field": "body.name", "message": "..."}]``."""
    fields = []
    # The invalid input is part of each error: a body that is not UTF-8 must not crash here.
    for error in jsonable_encoder(errors, custom_encoder={bytes: _text}):
        location = ".".join(str(part) for part in error.get("loc", ()))
        fields.append({"field": location, "message": str(error.get("msg", "invalid"))})
    return fields


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        422, "validation_error", "the request is not valid", fields=validation_fields(exc.errors())
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Constraint violations are the client's; lost connections are a 503; the rest a 500."""
    status, code, message = classify_database_error(exc)
    if status >= 500 and status != 503:
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    elif status == 503:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    headers = {"Retry-After": "5"} if status == 503 else None
    return error_response(status, code, message, headers=headers)


def classify_database_error(exc: BaseException) -> tuple[int, str, str]:
    """(status, code, message) for a database error; messages name constraints, never SQL."""
    unavailable = _unavailable(exc)
    if unavailable:
        return 503, "unavailable", unavailable
    if not isinstance(exc, psycopg.Error):
        return 500, "internal_error", "internal error"
    constraint = exc.diag.constraint_name if exc.diag else None
    where = f" ({constraint})" if constraint else ""
    if isinstance(exc, pg.ForeignKeyViolation):
        if "still referenced" in (exc.diag.message_detail or ""):
            return 409, "conflict", f"still in use{where}"
        return 400, "bad_request", f"refers to something that does not exist{where}"
    for kinds, status, code, message in _DATABASE_ERRORS:
        if isinstance(exc, kinds):
            return status, code, message + (where if status != 409 or constraint else "")
    return 500, "internal_error", "internal error"


def _unavailable(exc: BaseException) -> str | None:
    if isinstance(exc, pg.QueryCanceled):
        return "the database took too long to answer"
    lost = DatabaseUnavailable | PoolTimeout | pg.OperationalError | pg.InterfaceError
    refused = pg.InsufficientPrivilege | pg.InvalidAuthorizationSpecification
    if isinstance(exc, lost) and not isinstance(exc, refused):
        return "the database is unavailable, retry later"
    return None


# (exception classes, status, code, message); the first match wins.
_DATABASE_ERRORS: tuple[tuple[Any, int, str, str], ...] = (
    (pg.UniqueViolation | pg.ExclusionViolation, 409, "conflict", "already exists"),
    (pg.SerializationFailure | pg.DeadlockDetected | pg.LockNotAvailable, 409, "conflict",
     "a concurrent change got in the way, retry"),
    (pg.IntegrityError, 400, "bad_request", "not a valid value"),  # check, not-null
    (pg.DataError | pg.RaiseException, 400, "bad_request", "not a valid value"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Answer:
    """How a domain error is answered; the message is the error's own sentence unless set."""

    status: int
    code: str
    message: str | None = None
    headers: dict[str, str] | None = None


# Every error raised below the routes on purpose, answered one way; the first match wins
# (subclasses before their bases). Anything else (a bug) is a logged 500.
DOMAIN_ERRORS: tuple[tuple[Any, Answer], ...] = (
    (OutcomeRequired, Answer(400, "bad_request")),
    (FieldCannotClose, Answer(403, "centre_closes", (
        "only the monitoring centre closes a fire or heat incident;"
        " POST /api/v1/relative/{token}/report what you found"))),
    (RoleNotAllowed, Answer(403, "forbidden")),
    (IncidentNotFound | CommandNotFound, Answer(404, "not_found")),
    (IncidentClosed | InvalidTransition, Answer(409, "conflict")),
    (CommandNotAllowed | CommandUnsupported, Answer(409, "conflict")),
    (InvalidParameters, Answer(422, "validation_error")),
    (LoginQueueFull, Answer(429, "too_many_requests", headers={"Retry-After": "1"})),
    (HashSlotTimeout, Answer(503, "unavailable")),
)  # fmt: skip


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    for kinds, answer in DOMAIN_ERRORS:
        if isinstance(exc, kinds):
            message = answer.message or str(exc)
            return error_response(answer.status, answer.code, message, headers=answer.headers)
    return await _unexpected(request, exc)  # a bug, or an error nobody meant for a client


async def _broker_error(request: Request, exc: Exception) -> JSONResponse:
    log.warning("broker refused on %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        503,
        "unavailable",
        "the broker did not confirm the change, retry",
        headers={"Retry-After": "5"},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal error")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error one body shape."""
    app.add_exception_handler(ApiError, _api_error)
    # More specific classes below (DatabaseUnavailable, BrokerAuthError) keep their handlers.
    app.add_exception_handler(SmokewatchError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(psycopg.Error, _database_error)
    app.add_exception_handler(DatabaseUnavailable, _database_error)
    app.add_exception_handler(PoolTimeout, _database_error)
    app.add_exception_handler(BrokerAuthError, _broker_error)
    app.add_exception_handler(Exception, _unexpected)
