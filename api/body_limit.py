"""Request bodies larger than their route accepts are refused before anything parses them.

An unauthenticated 43 MB JSON body once took the API from 116 to 430 MB before its 401
(issue 15): FastAPI reads and parses a body before it resolves the route's dependencies. This
ASGI middleware answers 413 from ``Content-Length`` alone, and counts the bytes of a body sent
without one (chunked) while it streams, so nothing over the limit is ever buffered.

Every route gets ``api_max_body_bytes`` (1 MiB); the upload routes listed in
``LARGE_BODY_PATHS`` get ``api_max_upload_bytes`` (10 MiB), and only when the request carries
credentials (a bearer token, an API key or the session cookie): an anonymous client never gets
more than the small limit anywhere. Those routes check the credentials before they read the
form (api/roster/routes.py).
"""

from __future__ import annotations

import contextlib

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import SESSION_COOKIE

# Routes that accept big bodies (with credentials): the roster import.
LARGE_BODY_PATHS = frozenset({"/api/v1/roster/import"})


class BodyTooLarge(Exception):
    """The body grew past its limit while streaming."""


class BodyLimitMiddleware:
    """413 ``payload_too_large`` for bodies over the limit of their route."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    def limit_for(self, scope: Scope, headers: Headers) -> int:
        """The limit of this request: large only for upload routes with credentials."""
        if scope.get("path") in LARGE_BODY_PATHS and _has_credentials(headers):
            return self.max_upload_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.limit_for(scope, headers)
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            return
        received = 0
        started = refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not refused:
                    # Answered here: FastAPI turns an error while it reads a body into its own
                    # 400, which tracking_send then drops.
                    refused = True
                    if not started:
                        await _refuse(send, limit)
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(BodyTooLarge):  # answered in counting_receive
            await self.app(scope, counting_receive, tracking_send)


def _has_credentials(headers: Headers) -> bool:
    """Whether the request presents any credentials (checked later by the route)."""
    authorization = headers.get("authorization", "")
    cookies = headers.get("cookie", "")
    return (
        authorization.lower().startswith("bearer ")
        or bool(headers.get("x-api-key"))
        or f"{SESSION_COOKIE}=" in cookies
    )


async def _refuse(send: Send, limit: int) -> None:
    message = f"the request body is larger than {limit} bytes"
    body = orjson.dumps({"error": {"code": "payload_too_large", "message": message}})
    await send({
        "type": "http.response.start",
        "status": 413,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close")],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})
