"""The Server-Sent Events body: queued messages as they come, a ``: ping`` when idle.

Every ``ping_s`` (and at the login token's expiry) the stream asks ``still_valid`` whether
the caller's credentials still hold; when they do not (logout, deactivation, version bump,
revoked or expired API key, expired token) the stream ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from api.live.hub import LiveHub, Subscriber

PING = b": ping\n\n"
GONE = b'event: closed\ndata: {"reason": "credentials"}\n\n'


async def sse_stream(
    hub: LiveHub,
    sub: Subscriber,
    *,
    still_valid: Callable[[], Awaitable[bool]],
    expires_in_s: float | None = None,
    ping_s: float = 15.0,
    retry_ms: int = 3000,
    on_close: Callable[[], None] | None = None,
) -> AsyncIterator[bytes]:
    """Yield SSE frames for ``sub`` until it is dropped, the caller's credentials stop holding,
    or the client goes away."""
    clock = time.monotonic
    expires_at = None if expires_in_s is None else clock() + expires_in_s
    try:
        yield f"retry: {retry_ms}\n: connected\n\n".encode()
        next_check = clock() + ping_s
        while not sub.dropped:
            wait = next_check - clock()
            if expires_at is not None:
                wait = min(wait, expires_at - clock())
            try:
                message = await asyncio.wait_for(sub.queue.get(), timeout=max(wait, 0.0))
            except TimeoutError:
                message = None
            if clock() >= next_check or (expires_at is not None and clock() >= expires_at):
                if (expires_at is not None and clock() >= expires_at) or not await still_valid():
                    yield GONE
                    return
                next_check = clock() + ping_s
                if message is None:
                    yield PING
            if message is not None:
                yield message.encode()
    finally:
        hub.unsubscribe(sub)
        if on_close is not None:
            on_close()
