"""One LISTEN connection per API process fanning database notifications out to SSE subscribers.

Channels: ``smokewatch_events`` (payload: an event id, sent when an alertable event is queued
for alerting, migration 0003) and ``smokewatch_incidents`` (JSON with the site's organisation
path, migration 0026). Each subscriber has a bounded queue; one that does not keep up is
dropped (its stream ends and the browser's EventSource reconnects) rather than slowing the
others or growing memory. The listener reconnects in a visible loop with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from core.db import load_queries
from core.pg_channels import EVENTS_CHANNEL, INCIDENTS_CHANNEL, listen_sql

Q = load_queries("api.live", "queries.sql")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LiveMessage:
    """One SSE message: its ``event:`` name, JSON data, and the organisation path it concerns."""

    event: str
    data: dict[str, Any]
    path: str | None

    def encode(self) -> bytes:
        body = json.dumps(self.data, ensure_ascii=False, default=_json_default)
        return f"event: {self.event}\ndata: {body}\n\n".encode()


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


@dataclass(eq=False)
class Subscriber:
    """A stream's queue and the organisation path prefixes its caller may see."""

    scope_paths: tuple[str, ...]
    queue: asyncio.Queue[LiveMessage] = field(default_factory=lambda: asyncio.Queue(100))
    dropped: bool = False

    def sees(self, path: str | None) -> bool:
        return path is not None and any(path.startswith(p) for p in self.scope_paths)


class LiveHub:
    """Listens once, filters by scope, hands each subscriber what it may see."""

    def __init__(
        self, database_url: str, *, queue_size: int = 100, reconnect_max_s: float = 5.0
    ) -> None:
        self._url = database_url
        self._queue_size = queue_size
        self._reconnect_max_s = reconnect_max_s
        self._subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        self.dropped_total = 0

    async def start(self) -> None:
        """Start listening in the background (returns at once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="live-hub")

    async def stop(self) -> None:
        """Stop listening and end every stream."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for sub in list(self._subscribers):
            self._drop(sub)

    def subscribe(self, scope_paths: tuple[str, ...]) -> Subscriber:
        """A new subscriber that receives messages under ``scope_paths``."""
        sub = Subscriber(scope_paths, asyncio.Queue(self._queue_size))
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, message: LiveMessage) -> None:
        """Queue ``message`` for every subscriber in scope; drop those whose queue is full."""
        for sub in list(self._subscribers):
            if not sub.sees(message.path):
                continue
            try:
                sub.queue.put_nowait(message)
            except asyncio.QueueFull:
                log.warning("live: dropping a subscriber that does not keep up")
                self._drop(sub)

    def _drop(self, sub: Subscriber) -> None:
        sub.dropped = True
        self.dropped_total += 1
        self._subscribers.discard(sub)

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                log.warning(
                    "live: listener lost its connection (%s); retrying in %.1f s", exc, delay
                )
            self.listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._reconnect_max_s)

    async def _listen(self) -> None:
        async with (
            await psycopg.AsyncConnection.connect(self._url, autocommit=True) as listen,
            await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, row_factory=dict_row
            ) as lookup,
        ):
            await listen.execute(listen_sql(EVENTS_CHANNEL))
            await listen.execute(listen_sql(INCIDENTS_CHANNEL))
            self.listening.set()
            log.info("live: listening on %s and %s", EVENTS_CHANNEL, INCIDENTS_CHANNEL)
            async for note in listen.notifies():
                message = await self._message(lookup, note.channel, note.payload)
                if message is not None:
                    self.publish(message)

    async def _message(
        self, lookup: psycopg.AsyncConnection[dict[str, Any]], channel: str, payload: str
    ) -> LiveMessage | None:
        try:
            if channel == INCIDENTS_CHANNEL:
                data = json.loads(payload)
                path = data.pop("path", None)
                return LiveMessage("incident", data, path)
            event_id = int(payload)
        except (ValueError, TypeError):
            log.warning("live: ignoring a malformed notification on %s", channel)
            return None
        cur = await lookup.execute(Q["event_for_feed"], {"id": event_id})
        row = await cur.fetchone()
        if row is None:
            return None
        path = row.pop("path")
        return LiveMessage("event", row, path)
