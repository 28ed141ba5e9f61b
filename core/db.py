"""PostgreSQL access: one place that opens connections and pools and translates errors.

SQL lives in ``.sql`` files next to the code that runs it; :func:`load_queries` parses a file
of ``-- name: query_name`` sections once, so call sites say ``queries["insert_event"]``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from core.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

_NAME_LINE = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*-*\s*$", re.MULTILINE)


def load_queries(package: str, filename: str) -> Mapping[str, str]:
    """Read ``filename`` from ``package`` and split it into named queries."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    return parse_queries(text)


def parse_queries(text: str) -> dict[str, str]:
    """Split SQL text on ``-- name: x`` lines; each query runs to the next name line."""
    queries: dict[str, str] = {}
    matches = list(_NAME_LINE.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body = text[match.end() : end].strip()
        name = match.group(1)
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        if not body:
            raise ValueError(f"query {name!r} is empty")
        queries[name] = body
    return queries


# A database host that vanishes without a FIN or RST (a cut cable, a dead VM) would otherwise
# leave a service blocked on a socket for the kernel's default of about two hours. Keepalives
# notice an idle dead peer within ~25 s; tcp_user_timeout bounds unacknowledged writes (ms).
# libpq ignores both on Unix-domain sockets.
TCP_LIVENESS: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


def connect(url: str, *, autocommit: bool = False, timeout: float = 5.0) -> psycopg.Connection[Any]:
    """Open one connection with dict rows; raise :class:`DatabaseUnavailable` when refused."""
    try:
        return psycopg.connect(
            url,
            autocommit=autocommit,
            row_factory=dict_row,
            connect_timeout=max(1, int(timeout)),
            **TCP_LIVENESS,
        )
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(str(exc).strip()) from exc


def wait_for_database(url: str, *, timeout: float = 30.0) -> None:
    """Block until PostgreSQL accepts a connection, or raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        try:
            with connect(url, timeout=2):
                return
        except DatabaseUnavailable:
            if time.monotonic() >= deadline:
                raise
            log.info("waiting for the database")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def make_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    name: str = "smokewatch",
    autocommit: bool = False,
    check: bool = True,
) -> ConnectionPool:
    """Build a pool that is not yet open; open it in the service's start-up with ``wait=True``.

    ``check``: test every connection at checkout (one round trip) so callers never see one
    that died while idle; a caller that retries on a dead connection itself (the alert
    engine's senders, one statement per step) turns it off. ``autocommit``: for callers
    whose every statement stands alone, saving BEGIN and COMMIT round trips.
    """
    return ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        name=name,
        kwargs={"row_factory": dict_row, "autocommit": autocommit, **TCP_LIVENESS},
        check=ConnectionPool.check_connection if check else None,
    )


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn connection-level psycopg failures into :class:`DatabaseUnavailable`."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise DatabaseUnavailable(str(exc).strip()) from exc


def is_timescale(conn: psycopg.Connection[Any]) -> bool:
    """True when the TimescaleDB extension is installed in this database."""
    row = conn.execute("SELECT sw_timescale_enabled() AS enabled").fetchone()
    return bool(row and row["enabled"])
