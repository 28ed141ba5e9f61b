"""Helpers for the alerting tests: loopback HTTP receivers, a seeded household, events."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg

from alerting.service import AlertingService
from alerting.settings import AlertingSettings
from core.factory import create_contact, create_device, create_organisation, create_site
from core.pg_channels import EVENTS_CHANNEL
from devtools.http import LoopbackHTTPServer

SECRET = "test-secret-" + "x" * 32
# Longer than the client timeout in alerting_settings(), bounded so the thread ends.
SLOW_S = 2.0


@dataclass
class Received:
    """One request a receiver saw."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


Check = Callable[[Received], tuple[int, bytes]]


@dataclass
class Receiver:
    """A real HTTP server on loopback that records requests and answers per path prefix.

    ``/ok/...`` 200 ``{"errcode": 0}``, ``/err/...`` 200 with an error body, ``/500/...``
    HTTP 500, ``/slow/...`` answers after SLOW_S (a timeout for the client); ``handlers``
    maps other prefixes to functions that judge the request (signature checks).
    """

    handlers: dict[str, Check] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    def url(self, path: str, scheme: str = "json") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def seen(self, prefix: str = "/") -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def _answer(self, request: Received) -> tuple[int, bytes]:
        kind = request.path.strip("/").split("/")[0]
        if kind in self.handlers:
            return self.handlers[kind](request)
        if kind == "err":
            return 200, b'{"errcode": 93000, "errmsg": "invalid webhook url"}'
        if kind == "500":
            return 500, b"internal error"
        if kind == "delay":  # a provider that takes a moment: keeps a wave in flight
            time.sleep(0.2)
            return 200, b'{"errcode": 0}'
        if kind == "slow":
            time.sleep(SLOW_S)
            return 200, b'{"errcode": 0}'
        return 200, b'{"errcode": 0, "errmsg": "ok"}'

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    self.path, dict(self.headers.items()), self.rfile.read(length), time.monotonic()
                )
                with receiver.lock:
                    receiver.requests.append(request)
                status, body = receiver._answer(request)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): that is the point

            def log_message(self, *args: object) -> None:
                pass

        self.server = LoopbackHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@contextmanager
def receiver(**handlers: Check) -> Iterator[Receiver]:
    """A started :class:`Receiver`, stopped after the block."""
    r = Receiver(handlers=dict(handlers)).start()
    try:
        yield r
    finally:
        r.stop()


def alerting_settings(database_url: str, **overrides: Any) -> AlertingSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "environment": "test",
        "ack_secret": SECRET,
        "ack_base_url": "https://sw.example/a/",
        "alerting_wave2_after_s": 600.0,
        "alerting_wave3_after_s": 1200.0,
        "alerting_repeat_last": 0,
        "alerting_request_timeout_s": 0.5,
        "alerting_attempts_per_channel": 2,
        "alerting_backoff_s": 0.05,
        "alerting_lease_s": 5.0,
        "alerting_poll_interval_s": 0.5,
        "alerting_metrics_port": 0,
        "alerting_watch_interval_s": 3600.0,
        "alerting_digest_at": None,  # tests that want the daily digest set it
        "alerting_worker_name": f"test-{uuid.uuid4().hex[:6]}",
    }
    values.update(overrides)
    return AlertingSettings(**values)


@contextmanager
def running_alerting(settings: AlertingSettings, **kwargs: Any) -> Iterator[AlertingService]:
    """Run one alerting worker in a thread for the duration of the block."""
    service = AlertingService(settings, **kwargs)
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), "alerting worker did not stop"


@dataclass
class Household:
    """A seeded household: ids of the site, its device and contacts by name."""

    site_id: int
    device_id: str
    village_id: int
    contacts: dict[str, int]


WAVE1 = ("resident", "family", "grid_worker")
WAVE2 = ("village_cadre", "neighbour", "key_holder")


def seed_household(
    conn: psycopg.Connection[Any],
    channel: Callable[[str], list[str]],
    *,
    tag: str = "h1",
    with_village_contacts: bool = True,
) -> Household:
    """Sub-district > village > household with a resident, family, neighbour, key holder,
    grid worker and village cadre (village), duty desk and supervisor (sub-district);
    ``channel(name)`` gives each person's Apprise URLs."""

    def org(level: str, name: str, parent: int | None) -> int:
        code = f"{tag}-{level}-{uuid.uuid4().hex[:6]}"
        return create_organisation(conn, level=level, code=code, name=name, parent_id=parent)

    sub = org("sub_district", "南张街道", None)
    village = org("village", "南张村", sub)
    site = create_site(
        conn,
        org_id=village,
        name=f"王秀英家 {tag}",
        address=f"南张村三组{tag}号",
        phone="0537-1234567",
        resident_name="王秀英",
        resident_situation=["独居", "行动不便"],
        key_holder_name="李钥匙",
        key_holder_phone="13900000009",
    )
    device = create_device(conn, device_id=f"NZ-{tag}", site_id=site, room="厨房")
    people = {
        "resident": ("王秀英", site, None),
        "family": ("王小明", site, None),
        "neighbour": ("赵邻居", site, None),
        "key_holder": ("李钥匙", site, None),
    }
    if with_village_contacts:
        people |= {
            "grid_worker": ("孙网格", None, village),
            "village_cadre": ("周村委", None, village),
            "duty_desk": ("街道值班室", None, sub),
            "supervisor": ("值班长老周", None, sub),
        }
    contacts = {
        role: create_contact(
            conn,
            site_id=site_id,
            org_id=org_id,
            name=name,
            role=role,
            phone="13800000000",
            channels=channel(f"{tag}-{role}"),
        )
        for role, (name, site_id, org_id) in people.items()
    }
    return Household(site, device, village, contacts)


_seq = iter(range(1, 10**9))


def raise_event(
    conn: psycopg.Connection[Any], device_id: str, event_type: str, *, priority: int = 1
) -> int:
    """Store an event as ingest does: events, pending_events, pg_notify, one transaction."""
    now = datetime.now(UTC)
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO events"
            " (device_id, ts, received_at, msg_key, type, priority, site_id, source)"
            " SELECT %s, %s, %s, %s, %s, %s, d.site_id, 'test' FROM devices d WHERE d.id = %s"
            " RETURNING id, ts",
            (device_id, now, now, next(_seq), event_type, priority, device_id),
        ).fetchone()
        assert row is not None
        event_id = row[0] if isinstance(row, tuple) else row["id"]
        conn.execute(
            "INSERT INTO pending_events (event_id, event_ts, device_id, type, priority)"
            " VALUES (%s, %s, %s, %s, %s)",
            (event_id, now, device_id, event_type, priority),
        )
        conn.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, str(event_id)))
    return int(event_id)


def scalar(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0] if isinstance(row, tuple) else next(iter(row.values()))
