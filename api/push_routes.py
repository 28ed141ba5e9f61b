"""HTTP push from carrier platforms (CTWing, OneNET): ``GET|POST /ingest/<codec>``.

A push is answered 200 as soon as its raw request is committed to ``push_inbox`` (the platforms
retry or disable a slow endpoint); the ingest service decodes it asynchronously with the same
dead-letter handling as MQTT. The only synchronous answer is OneNET's URL verification (a GET
whose ``msg`` must be echoed after its signature is checked); nothing is stored for it.

The API app includes :data:`router` and puts the codec registry and the :class:`PushGuard`
built from the settings on ``app.state`` (``push_registry``, ``push_guard``).

The endpoints are unauthenticated, so nothing is stored before the push has passed, in this
order (and before a pooled connection is taken): a per-source-address rate limit (token bucket,
429), the size (413 on ``Content-Length`` alone, else the body is read in chunks and refused at
``max_bytes + 1``), and the sender's proof: OneNET's signature, checked by the codec's own
verification, or for CTWing (whose push carries no signature) the shared ``?token=`` configured
in the subscription URL on the CTWing side.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response
from psycopg.types.json import Jsonb

from api.deps import ConnDep
from api.errors import ApiError, BadRequest, NotFound, SenderUnproven, TooManyRequests
from core.codecs.registry import CodecRegistry
from core.codecs.types import Codec, Message
from core.db import load_queries
from core.errors import DecodeError

Q = load_queries("api", "push_queries.sql")


CTWING_TOKEN_PARAM = "token"  # noqa: S105 - a parameter name


class RateLimiter:
    """Token buckets per client address: ``rate_per_s`` sustained, ``burst`` at once.

    At most ``max_clients`` addresses are remembered (least recently seen forgotten first), so
    the memory stays bounded whatever the number of senders."""

    def __init__(self, *, rate_per_s: float, burst: int, max_clients: int = 10_000) -> None:
        self._rate = rate_per_s
        self._burst = float(burst)
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, client: str) -> float:
        """Spend one token of ``client``: 0 when allowed, else the seconds until one is free."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(client, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self._rate
            self._buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
        return wait


@dataclass(frozen=True, slots=True)
class PushGuard:
    """What a push must pass before it is stored (see the module description)."""

    max_bytes: int = 65536
    ctwing_token: str | None = None
    # Production: without a configured token every CTWing push is refused (fail closed).
    ctwing_required: bool = False
    limiter: RateLimiter | None = None


def get_push_registry(request: Request) -> CodecRegistry:
    """The codecs the app serves pushes for (set in api.app.create_app)."""
    registry: CodecRegistry = request.app.state.push_registry
    return registry


def get_push_guard(request: Request) -> PushGuard:
    """What a push must pass before it is stored (set in api.app.create_app)."""
    guard: PushGuard = request.app.state.push_guard
    return guard


RegistryDep = Annotated[CodecRegistry, Depends(get_push_registry)]
GuardDep = Annotated[PushGuard, Depends(get_push_guard)]


class PayloadTooLarge(ApiError):
    """The push is larger than the ingest accepts."""

    status_code = 413
    code = "payload_too_large"
    default_message = "push body too large"


def http_codec(codec_name: str, registry: RegistryDep) -> Codec:
    """The HTTP codec named in the path; 404 for an unknown or non-HTTP one."""
    try:
        codec = registry.get(codec_name)
    except DecodeError as exc:
        raise NotFound("no such push endpoint") from exc
    if codec.transport != "http":
        raise NotFound("no such push endpoint")
    return codec


def rate_limited(request: Request, guard: GuardDep) -> None:
    """429 with Retry-After when the sender's address is over its rate."""
    if guard.limiter is None:
        return
    wait = guard.limiter.take(request.client.host if request.client else "unknown")
    if wait > 0:
        raise TooManyRequests(
            "too many pushes from this address",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


CodecDep = Annotated[Codec, Depends(http_codec)]


async def accepted_push(
    request: Request, codec: CodecDep, guard: GuardDep, _: Annotated[None, Depends(rate_limited)]
) -> tuple[Codec, bytes]:
    """The codec and body of a push that passed every check (before any connection)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > guard.max_bytes):
        raise PayloadTooLarge()
    body = await _bounded_body(request, guard.max_bytes)
    _check_sender(codec, body, request, guard)
    return codec, body


router = APIRouter(prefix="/ingest", tags=["ingest"])


@router.get("/{codec_name}")
def verify_push_url(
    request: Request, codec: CodecDep, _: Annotated[None, Depends(rate_limited)]
) -> Response:
    """URL verification (OneNET): echo ``msg`` when the signature matches."""
    message = Message(
        body=b"",
        received_at=datetime.now(UTC),
        method="GET",
        query=dict(request.query_params),
    )
    try:
        decoded = codec.decode(message, {})
    except DecodeError as exc:
        raise BadRequest(exc.code) from exc
    return PlainTextResponse((decoded.reply or b"ok").decode("utf-8", "replace"))


@router.post("/{codec_name}")
async def create_push(
    request: Request,
    # The push is checked first: dependencies are solved in this order, so no connection is
    # taken for a refused push.
    accepted: Annotated[tuple[Codec, bytes], Depends(accepted_push)],
    conn: ConnDep,
) -> Response:
    """Accept one push: committed to the inbox before the 200 goes out."""
    codec, body = accepted
    query = dict(request.query_params)
    if codec.name == "ctwing":
        query.pop(CTWING_TOKEN_PARAM, None)  # a secret: not kept in the inbox
    params = {
        "codec": codec.name,
        "received_at": datetime.now(UTC),
        "method": "POST",
        "query": Jsonb(query),
        "body": body,
    }
    await run_in_threadpool(_insert, conn, params)
    return PlainTextResponse("ok")


def _check_sender(codec: Codec, body: bytes, request: Request, guard: PushGuard) -> None:
    """CTWing: the shared token when one is configured; OneNET: its signature."""
    if codec.name == "ctwing" and (guard.ctwing_token is not None or guard.ctwing_required):
        if guard.ctwing_token is None:
            raise SenderUnproven("no CTWing push token is configured")
        given = request.query_params.get(CTWING_TOKEN_PARAM, "")
        if not hmac.compare_digest(given.encode(), guard.ctwing_token.encode()):
            raise SenderUnproven("wrong or missing push token")
    if codec.name == "onenet":
        try:  # the codec's own parse and signature check (when it verifies)
            codec.identify(_message(body, request))
        except DecodeError as exc:
            if exc.code in ("bad_signature", "no_token"):
                raise SenderUnproven(exc.code) from exc
            raise BadRequest(exc.code) from exc


async def _bounded_body(request: Request, limit: int) -> bytes:
    """The body, read chunk by chunk; 413 as soon as it exceeds ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _message(body: bytes, request: Request) -> Message:
    return Message(
        body=body,
        received_at=datetime.now(UTC),
        method="POST",
        query=dict(request.query_params),
    )


def _insert(conn: psycopg.Connection[Any], params: dict[str, Any]) -> None:
    # Durable before we answer: the row and its notification commit together.
    with conn.transaction():
        conn.execute(Q["insert_push"], params)
        conn.execute(Q["notify_push"], params)
    if not conn.autocommit:
        conn.commit()  # the block above was a savepoint inside the caller's transaction
