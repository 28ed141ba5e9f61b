"""``GET /api/v1/live``: Server-Sent Events of new events and incident changes in scope.

The hub (one LISTEN connection per process) starts and stops with the app through this
router's lifespan; each stream holds no database connection, only a bounded queue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import StreamingResponse

from api.deps import Caller, require
from api.live.hub import LiveHub
from api.live.stream import sse_stream

PING_S = 15.0


@asynccontextmanager
async def live_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the process's live hub with the app; stop it (ending every stream) at shutdown."""
    hub = LiveHub(app.state.settings.database_url)
    app.state.live_hub = hub
    await hub.start()
    try:
        yield
    finally:
        await hub.stop()


router = APIRouter(prefix="/api/v1", tags=["live"], lifespan=live_lifespan)
Watcher = Annotated[Caller, require("administrator", "operator", "viewer")]


# Not in the OpenAPI document: an endless text/event-stream is not something OpenAPI clients
# (or the schemathesis run over every operation) can call; docs/api.md describes it.
@router.get("/live", response_class=StreamingResponse, include_in_schema=False)
async def read_live(request: Request, caller: Watcher) -> StreamingResponse:
    """``event: incident`` {incident_id, status, kind, site_id, device_id, at} and ``event:
    event`` {event_id, device_id, site_id, type, ts}; ``: ping`` every 15 s when idle."""
    hub: LiveHub = request.app.state.live_hub
    sub = hub.subscribe(caller.scope_paths)
    ping_s: float = getattr(request.app.state, "live_ping_s", PING_S)
    return StreamingResponse(
        sse_stream(hub, sub, ping_s=ping_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
