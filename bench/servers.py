"""Servers for a benchmark run: private PostgreSQL and Mosquitto by default, or given ones.

Set SMOKEWATCH_BENCH_ADMIN_URL (a PostgreSQL URL allowed to CREATE DATABASE) and
SMOKEWATCH_BENCH_MQTT_URL to measure against servers you already run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


@contextmanager
def private_servers(workdir: Path, *, durable: bool = True) -> Iterator[tuple[str, str]]:
    """Yield (database_url, mqtt_url) for a fresh database and a broker."""
    admin = os.environ.get("SMOKEWATCH_BENCH_ADMIN_URL")
    mqtt_url = os.environ.get("SMOKEWATCH_BENCH_MQTT_URL")
    if admin and mqtt_url:
        name = f"swbench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        try:
            yield admin.rsplit("/", 1)[0] + f"/{name}", mqtt_url
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        return

    from devtools.localservers import LocalMosquitto, LocalPostgres

    with (
        LocalPostgres(workdir / "pg", fsync=durable) as pg,
        LocalMosquitto(workdir / "mqtt") as broker,
    ):
        with psycopg.connect(pg.admin_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE smokewatch_bench")
        yield pg.url_for("smokewatch_bench"), broker.url
