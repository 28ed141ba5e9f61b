"""Long-polling a commissioning session without holding a pooled connection while waiting.

Each poll takes a connection from the pool, reads (and maybe finishes) the session, commits and
gives the connection back; the wait between polls is an ``asyncio.sleep`` that holds neither a
connection nor a worker thread. At most :data:`MAX_LONG_POLLS` requests per process wait at
once; beyond that a request is answered at once with the current state (clients poll again).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Annotated, Any, cast

import psycopg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool

from api.commissioning import service
from api.commissioning.schemas import CommissioningRead
from api.deps import (
    FIELD_ROLES,
    Caller,
    SettingsDep,
    _api_key,
    _bearer,
    _cookie,
    current_caller,
    get_pool,
)
from api.errors import Forbidden
from api.registry_common import Scope

LONG_POLL_INTERVAL_S = 0.25
MAX_LONG_POLLS = 16
_slots = threading.BoundedSemaphore(MAX_LONG_POLLS)


def field_worker_briefly(
    request: Request,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Caller:
    """The caller (administrator, operator or installer), authenticated on a connection that
    goes back to the pool at once (``ConnDep`` would be held until the route returns)."""
    pool = get_pool(request)
    with pool.connection(timeout=settings.api_pool_timeout_s) as conn:
        caller = current_caller(
            cast(psycopg.Connection[DictRow], conn), settings, bearer, api_key, cookie
        )
    if caller.role not in FIELD_ROLES:
        raise Forbidden()
    return caller


BrieflyFieldWorker = Annotated[Caller, Depends(field_worker_briefly)]


def _poll_once(
    pool: ConnectionPool[Any], timeout_s: float, *, scope: Scope, device_id: str, session_id: int
) -> CommissioningRead:
    with pool.connection(timeout=timeout_s) as conn:
        return service.read_commissioning(
            conn, scope=scope, device_id=device_id, session_id=session_id
        )


async def long_poll(
    pool: ConnectionPool[Any],
    timeout_s: float,
    *,
    scope: Scope,
    device_id: str,
    session_id: int,
    wait_s: float,
) -> CommissioningRead:
    """The report as soon as it leaves ``waiting``, or after ``wait_s`` (polled every 0.25 s)."""
    deadline = time.monotonic() + wait_s

    def poll() -> CommissioningRead:
        return _poll_once(pool, timeout_s, scope=scope, device_id=device_id, session_id=session_id)

    report = await run_in_threadpool(poll)
    if report.state != "waiting" or wait_s <= 0:
        return report
    if not _slots.acquire(blocking=False):  # too many waiting already: answer now
        return report
    try:
        while report.state == "waiting":
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.sleep(min(LONG_POLL_INTERVAL_S, remaining))
            report = await run_in_threadpool(poll)
    finally:
        _slots.release()
    return report
