"""``GET /api/v1/live``: Server-Sent Events of new events and incident changes in scope.

The hub (one LISTEN connection per process) starts and stops with the app through this
router's lifespan; each stream holds no database connection, only a bounded queue.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import psycopg
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import StreamingResponse
from psycopg_pool import ConnectionPool, PoolTimeout

from api.deps import WatcherDep, caller_still_valid
from api.errors import TooManyRequests
from api.live.hub import LiveHub
from api.live.stream import sse_stream
from api.settings import ApiSettings


@asynccontextmanager
async def live_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the process's live hub with the app; stop it (ending every stream) at shutdown."""
    hub = LiveHub(app.state.settings.database_url)
    app.state.live_hub = hub
    app.state.live_streams = Counter()
    await hub.start()
    try:
        yield
    finally:
        await hub.stop()


router = APIRouter(prefix="/api/v1", tags=["live"], lifespan=live_lifespan)


# Not in the OpenAPI document: an endless text/event-stream is not something OpenAPI clients
# (or the schemathesis run over every operation) can call; docs/api.md describes it.
@router.get("/live", response_class=StreamingResponse, include_in_schema=False)
async def read_live(request: Request, caller: WatcherDep) -> StreamingResponse:
    """``event: incident`` {incident_id, status, kind, site_id, device_id, at} and ``event:
    event`` {event_id, device_id, site_id, type, ts}; ``: ping`` every 15 s when idle.

    The caller's credentials are checked again at every ping and the stream ends (``event:
    closed``) when they no longer hold or the login token expires; at most
    ``api_live_max_streams`` streams per user or API key (429 beyond)."""
    settings: ApiSettings = request.app.state.settings
    streams: Counter[tuple[str, int]] = request.app.state.live_streams
    owner = (caller.kind, caller.id)
    if streams[owner] >= settings.api_live_max_streams:
        raise TooManyRequests("too many open live streams for this caller")
    pool: ConnectionPool = request.app.state.pool

    def check() -> bool:
        with pool.connection(timeout=settings.api_pool_timeout_s) as conn:
            return caller_still_valid(conn, caller)

    async def still_valid() -> bool:
        try:
            return await asyncio.to_thread(check)
        except (psycopg.Error, PoolTimeout):  # database away: keep the stream, ask next time
            return True

    hub: LiveHub = request.app.state.live_hub
    sub = hub.subscribe(caller.scope_paths)
    streams[owner] += 1
    released = False

    def release() -> None:
        """Free the caller's place and the subscriber once, however the stream ends."""
        nonlocal released
        if released:
            return
        released = True
        hub.unsubscribe(sub)
        streams[owner] -= 1
        if streams[owner] <= 0:
            del streams[owner]

    expires_in_s = None
    if caller.token_expires_at is not None:
        expires_in_s = (caller.token_expires_at - datetime.now(UTC)).total_seconds()
    body = sse_stream(
        hub,
        sub,
        still_valid=still_valid,
        expires_in_s=expires_in_s,
        ping_s=settings.api_live_ping_s,
        on_close=release,
    )
    # A client gone before the body starts leaves a generator whose ``finally`` never runs.
    weakref.finalize(body, release)
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
