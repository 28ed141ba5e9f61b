"""The Server-Sent Events body: queued messages as they come, a ``: ping`` when idle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from api.live.hub import LiveHub, Subscriber

PING = b": ping\n\n"


async def sse_stream(
    hub: LiveHub, sub: Subscriber, *, ping_s: float = 15.0, retry_ms: int = 3000
) -> AsyncIterator[bytes]:
    """Yield SSE frames for ``sub`` until it is dropped or the client goes away."""
    try:
        yield f"retry: {retry_ms}\n: connected\n\n".encode()
        while not sub.dropped:
            try:
                message = await asyncio.wait_for(sub.queue.get(), timeout=ping_s)
            except TimeoutError:
                yield PING
                continue
            yield message.encode()
    finally:
        hub.unsubscribe(sub)
