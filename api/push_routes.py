"""HTTP push from carrier platforms (CTWing, OneNET): ``GET|POST /ingest/<codec>``.

A push is answered 200 as soon as its raw request is committed to ``push_inbox`` (the platforms
retry or disable a slow endpoint); the ingest service decodes it asynchronously with the same
dead-letter handling as MQTT. The only synchronous answer is OneNET's URL verification (a GET
whose ``msg`` must be echoed after its signature is checked); nothing is stored for it.

The API app includes the router built by :func:`push_router`, handing it the app's
connection dependency and a codec registry built from the settings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response
from psycopg.types.json import Jsonb

from core.codecs.registry import Codec, CodecRegistry, Message
from core.db import load_queries
from core.errors import DecodeError

Q = load_queries("api", "push_queries.sql")


def push_router(
    *,
    connection: Callable[..., Any],
    registry: CodecRegistry,
    max_bytes: int = 65536,
) -> APIRouter:
    """The push endpoints; ``connection`` is a FastAPI dependency yielding a psycopg connection."""
    router = APIRouter(prefix="/ingest", tags=["ingest"])
    conn_dep = Depends(connection)

    def http_codec(name: str) -> Codec:
        try:
            codec = registry.get(name)
        except DecodeError as exc:
            raise HTTPException(status_code=404, detail="no such push endpoint") from exc
        if codec.transport != "http":
            raise HTTPException(status_code=404, detail="no such push endpoint")
        return codec

    @router.get("/{codec_name}")
    def verify_push_url(codec_name: str, request: Request) -> Response:
        """URL verification (OneNET): echo ``msg`` when the signature matches."""
        codec = http_codec(codec_name)
        message = Message(
            body=b"",
            received_at=datetime.now(UTC),
            method="GET",
            query=dict(request.query_params),
        )
        try:
            decoded = codec.decode(message, {})
        except DecodeError as exc:
            raise HTTPException(status_code=400, detail=exc.code) from exc
        return PlainTextResponse((decoded.reply or b"ok").decode("utf-8", "replace"))

    @router.post("/{codec_name}")
    async def create_push(
        codec_name: str,
        request: Request,
        # A default, not Annotated: the closure's dependency is not visible to FastAPI's
        # evaluation of string annotations (from __future__ import annotations).
        conn: psycopg.Connection[Any] = conn_dep,
    ) -> Response:
        """Accept one push: committed to the inbox before the 200 goes out."""
        codec = http_codec(codec_name)
        body = await request.body()
        if len(body) > max_bytes:
            raise HTTPException(status_code=413, detail="push body too large")
        params = {
            "codec": codec.name,
            "received_at": datetime.now(UTC),
            "method": "POST",
            "query": Jsonb(dict(request.query_params)),
            "body": body,
        }
        await run_in_threadpool(_insert, conn, params)
        return PlainTextResponse("ok")

    return router


def _insert(conn: psycopg.Connection[Any], params: dict[str, Any]) -> None:
    # Durable before we answer: the row and its notification commit together.
    with conn.transaction():
        conn.execute(Q["insert_push"], params)
        conn.execute(Q["notify_push"], params)
    if not conn.autocommit:
        conn.commit()  # the block above was a savepoint inside the caller's transaction
