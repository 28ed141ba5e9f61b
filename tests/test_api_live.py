"""The live feed: a real uvicorn, a real SSE stream read with httpx, LISTEN/NOTIFY underneath."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from api.live.hub import LiveHub, LiveMessage
from api.settings import ApiSettings
from tests.support.alerting import raise_event
from tests.support.api import ApiWorld, running_api
from tests.support.ops import household


class SseReader:
    """Reads an SSE stream in a thread; frames land in ``frames`` as (event, data) pairs."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.frames: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.status: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, headers), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        timeout = httpx.Timeout(10.0, read=None)
        with httpx.stream("GET", url, headers=headers, timeout=timeout) as answer:
            self.status = answer.status_code
            event = "message"
            for line in answer.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(":"):
                    self.frames.put(("comment", line[1:].strip()))
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    self.frames.put((event, json.loads(line[5:])))
                    event = "message"

    def next(self, timeout: float = 10.0) -> tuple[str, Any]:
        return self.frames.get(timeout=timeout)

    def close(self) -> None:
        self._stop.set()


def wait_for_frame(reader: SseReader, match: Any, *, timeout: float = 15.0) -> list[Any]:
    """Frames up to and including the first for which ``match(event, data)`` holds."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frame = reader.next(timeout=max(0.05, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(frame)
        if match(*frame):
            return seen
    raise AssertionError(f"no matching frame within {timeout}s; saw {seen}")


@pytest.fixture
def fast_server(api_settings: ApiSettings) -> Iterator[str]:
    """Like ``api_server`` with pings (and credential re-checks) every 0.3 s."""
    with running_api(api_settings.model_copy(update={"api_live_ping_s": 0.3})) as url:
        yield url


def test_live_delivers_own_events_and_incident_changes_only(
    api: ApiWorld, fast_server: str
) -> None:
    tree = api.tree()
    cur = api.db.cursor(row_factory=dict_row)
    mine = household(cur, tree.village.id, tree.village.path, "东村", "e")
    other = household(cur, tree.other_village.id, tree.other_village.path, "西村", "w")
    operator = api.headers("operator")
    reader = SseReader(f"{fast_server}/api/v1/live", operator)
    try:
        assert wait_for_frame(reader, lambda e, d: e == "comment" and d == "connected")
        assert reader.status == 200
        # The hub may still be connecting: raise other-then-mine until mine comes through.
        foreign: set[int] = set()

        def mine_arrived() -> list[Any]:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                foreign.add(raise_event(api.db, other.device_id, "alarm"))
                event_id = raise_event(api.db, mine.device_id, "tamper", priority=2)
                try:
                    return wait_for_frame(
                        reader,
                        lambda e, d, wanted=event_id: e == "event" and d["event_id"] == wanted,
                        timeout=1.0,
                    )  # fmt: skip
                except AssertionError:
                    continue
            raise AssertionError("no event of my village arrived")

        frames = mine_arrived()
        event = frames[-1][1]
        assert (event["device_id"], event["site_id"], event["type"]) == (
            mine.device_id,
            mine.site_id,
            "tamper",
        )
        incident = api.db.execute(
            "INSERT INTO incidents (device_id, site_id, kind, priority, opened_at, last_event_at)"
            " VALUES (%s, %s, 'fire', 1, now(), now()) RETURNING id",
            (mine.device_id, mine.site_id),
        ).fetchone()
        assert incident is not None
        api.db.execute(
            "INSERT INTO incidents (device_id, site_id, kind, priority, opened_at, last_event_at)"
            " VALUES (%s, %s, 'fire', 1, now(), now())",
            (other.device_id, other.site_id),
        )
        acked = httpx.post(
            f"{fast_server}/api/v1/incidents/{incident['id']}/acknowledge", json={},
            headers=operator,
        )  # fmt: skip
        assert acked.status_code == 200, acked.text
        frames += wait_for_frame(
            reader, lambda e, d: e == "incident" and d["status"] == "acknowledged"
        )
        frames += wait_for_frame(reader, lambda e, d: e == "comment" and d == "ping")
    finally:
        reader.close()

    incidents = [d for e, d in frames if e == "incident"]
    assert [(d["incident_id"], d["status"]) for d in incidents] == [
        (incident["id"], "triggered"),
        (incident["id"], "acknowledged"),
    ]
    assert all(d["site_id"] == mine.site_id for e, d in frames if e in ("event", "incident"))
    assert not {d["event_id"] for e, d in frames if e == "event"} & foreign


def test_live_without_credentials_is_401(api_server: str) -> None:
    answer = httpx.get(f"{api_server}/api/v1/live", timeout=5)

    assert answer.status_code == 401


def test_live_hub_drops_subscriber_that_does_not_keep_up() -> None:
    async def scenario() -> tuple[bool, bool, int]:
        hub = LiveHub("postgresql://unused@127.0.0.1:1/none", queue_size=2)
        slow = hub.subscribe(("1.2.",))
        fast = hub.subscribe(("1.2.",))
        outside = hub.subscribe(("9.",))
        for n in range(3):
            hub.publish(LiveMessage("event", {"event_id": n}, "1.2.3."))
            if n < 2:
                fast.queue.get_nowait()
        return slow.dropped, fast.dropped, outside.queue.qsize()

    slow_dropped, fast_dropped, outside_queued = asyncio.run(scenario())

    assert slow_dropped and not fast_dropped
    assert outside_queued == 0


def test_live_listener_reconnects_after_database_restart(
    api: ApiWorld, fast_server: str, pg_server: Any
) -> None:
    tree = api.tree()
    home = household(
        api.db.cursor(row_factory=dict_row), tree.village.id, tree.village.path, "东村", "r"
    )
    reader = SseReader(f"{fast_server}/api/v1/live", api.headers("operator"))
    try:
        wait_for_frame(reader, lambda e, d: e == "comment" and d == "connected")
        pg_server.restart()
        # Stream survives (pings go on without the database); the listener comes back on its
        # own: keep raising events until one arrives (bounded).
        deadline = time.monotonic() + 30
        arrived = False
        while not arrived and time.monotonic() < deadline:
            try:
                with psycopg.connect(api.settings.database_url, autocommit=True) as conn:
                    event_id = raise_event(conn, home.device_id, "fault", priority=3)
            except psycopg.OperationalError:
                time.sleep(0.2)
                continue
            try:
                wait_for_frame(
                    reader,
                    lambda e, d, wanted=event_id: e == "event" and d["event_id"] == wanted,
                    timeout=1.0,
                )
                arrived = True
            except AssertionError:
                continue
        assert arrived, "no event arrived after the database restarted"
    finally:
        reader.close()
