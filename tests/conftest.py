"""Shared fixtures: a private PostgreSQL and Mosquitto per session, a fresh database per test.

Storage mode: the private PostgreSQL preloads TimescaleDB whenever its binaries have it
(``SMOKEWATCH_PG_BINDIR`` names them, see devtools/localservers/binaries.py), so the migrations
take the TimescaleDB path; ``SMOKEWATCH_TEST_STORAGE=plain`` turns the preload off (and so
tests the fallback of a server that has the extension but did not preload it), ``timescaledb``
insists on it. Tests marked ``storage`` (the modules in STORAGE_MODULES, or ``pytestmark``) are
the ones CI runs in both modes (scripts/test).

The servers run on free loopback ports in a temporary folder that is removed at the end of the
session; set ``SMOKEWATCH_TEST_KEEP=1`` to keep it (logs and data) for debugging. Each test that
asks for ``database_url`` gets its own database cloned from a migrated template, which takes a
few milliseconds instead of running every migration again.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import DictRow, dict_row

from core.migrate import migrate
from devtools.localservers import LocalMosquitto, LocalPostgres, has_timescaledb

# API fixtures (api_settings, api_client, api, api_server): see tests/support/api.py;
# the browser for the pages: tests/support/pages.py.
pytest_plugins = ["tests.support.api", "tests.support.ops", "tests.support.pages"]

KEEP = os.environ.get("SMOKEWATCH_TEST_KEEP") == "1"
STORAGE = os.environ.get("SMOKEWATCH_TEST_STORAGE", "auto")
TEMPLATE_DATABASE = "smokewatch_template"
_kept: list[Path] = []
# The storage-related part of the suite: what CI also runs on TimescaleDB. A module elsewhere
# joins with ``pytestmark = pytest.mark.storage``.
STORAGE_MODULES = frozenset(
    {
        "test_migrations",
        "test_timescale",
        "test_ingest",
        "test_ingest_dead_letters",
        "test_ingest_faults",
        "test_ingest_with_simulator",
        "test_health_jobs",
        "test_health_watchdog",
        "test_health_village",
        "test_health_ingest_beat",
        "test_api_devices",
        "test_api_summary",
        "test_api_device_health",
    }
)


# The fast tier (``pytest -m unit``): a test that asks for none of these fixtures, directly or
# through another fixture, needs no PostgreSQL, Mosquitto (test_broker_auth.py starts its own) or
# browser and is marked ``unit``.
SERVER_FIXTURES = frozenset({"pg_server", "mqtt_broker", "secure_broker", "browser"})
# Modules whose tests start servers or processes of their own, without those fixtures.
SELF_SERVING_MODULES = frozenset({"test_demo_run", "test_localservers"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module is not None else ""
        if module in STORAGE_MODULES:
            item.add_marker(pytest.mark.storage)
        needs = set(getattr(item, "fixturenames", ()))
        if module not in SELF_SERVING_MODULES and not needs & SERVER_FIXTURES:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session")
def servers_dir() -> Iterator[Path]:
    """Folder of the session's private servers (straight under the system temp folder).

    Not under pytest's ``tmp_path``: that tree is 0700 and pytest tightens it again at every
    start, while PostgreSQL (running as ``postgres`` when we are root) must traverse the path.
    """
    path = Path(tempfile.mkdtemp(prefix="smokewatch-test-servers-"))
    yield path
    if KEEP:
        _kept.append(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(servers_dir: Path) -> Iterator[LocalPostgres]:
    """A private PostgreSQL: ``.admin_url``, ``.url_for(db)``, ``.stop(mode)``, ``.start()``."""
    if STORAGE not in ("auto", "plain", "timescaledb"):
        raise pytest.UsageError(f"SMOKEWATCH_TEST_STORAGE={STORAGE}: auto, plain or timescaledb")
    preload = {"auto": None, "plain": False, "timescaledb": True}[STORAGE]
    server = LocalPostgres(servers_dir / "postgres", fsync=False, timescaledb=preload)
    if STORAGE == "timescaledb" and not has_timescaledb(server.bindir):
        raise pytest.UsageError(
            f"SMOKEWATCH_TEST_STORAGE=timescaledb but {server.bindir} has no TimescaleDB; "
            "set SMOKEWATCH_PG_BINDIR to a tree that has it (../shared/timescaledb/install)"
        )
    with server:
        yield server


@pytest.fixture(scope="session")
def storage_mode(pg_server: LocalPostgres) -> str:
    """``timescaledb`` when the session's server preloads TimescaleDB, else ``plain``."""
    return "timescaledb" if pg_server.timescaledb else "plain"


@pytest.fixture(scope="session")
def mqtt_broker(servers_dir: Path) -> Iterator[LocalMosquitto]:
    """A private Mosquitto: ``.url``, ``.host``, ``.port``, ``.stop()``, ``.start()``, ``.kill()``.

    Persistent sessions and their queued QoS 1 messages survive ``stop()`` and ``start()``.
    """
    with LocalMosquitto(servers_dir / "mosquitto") as broker:
        yield broker


@pytest.fixture(autouse=True)
def _restart_stopped_servers(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that stopped a session server and failed before starting it again must not take
    every later test down with it."""
    servers = [
        request.getfixturevalue(name)
        for name in ("pg_server", "mqtt_broker")
        if name in request.fixturenames
    ]
    yield
    for server in servers:
        server.start()  # a no-op when it runs


@pytest.fixture(scope="session")
def template_database(pg_server: LocalPostgres) -> str:
    """Name of a database with every migration applied, used only as a template."""
    name = sql.Identifier(TEMPLATE_DATABASE)
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    migrate(pg_server.url_for(TEMPLATE_DATABASE))
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        # Nobody may connect to it: CREATE DATABASE ... TEMPLATE fails while anyone is.
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(name)
        )
        # TimescaleDB's scheduler keeps a connection to every database with the extension;
        # once connections are refused it cannot come back, so end the one it holds.
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (TEMPLATE_DATABASE,),
        )
    return TEMPLATE_DATABASE


def create_database(pg_server: LocalPostgres, *, template: str = "template0") -> str:
    """Create a database with a unique name from ``template``; return its name."""
    name = f"sw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return name


def drop_database(pg_server: LocalPostgres, name: str) -> None:
    """Drop a test database, ending any session still connected to it."""
    pg_server.start()  # the test may have stopped the server
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def database_url(pg_server: LocalPostgres, template_database: str) -> Iterator[str]:
    """URL of a fresh, migrated database of this test alone (dropped afterwards)."""
    name = create_database(pg_server, template=template_database)
    yield pg_server.url_for(name)
    drop_database(pg_server, name)


@pytest.fixture
def empty_database_url(pg_server: LocalPostgres) -> Iterator[str]:
    """URL of a fresh database without any migration applied (dropped afterwards)."""
    name = create_database(pg_server)
    yield pg_server.url_for(name)
    drop_database(pg_server, name)


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[DictRow]]:
    """An autocommit connection with dict rows to this test's database."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


def unique_topic_prefix() -> str:
    """A topic prefix no other test uses, so tests sharing a broker never see each other."""
    return f"t{uuid.uuid4().hex[:10]}/v1"


@pytest.fixture
def topic_prefix() -> str:
    """This test's own topic prefix (``t<hex>/v1``), for settings and publishers."""
    return unique_topic_prefix()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for path in _kept:
        terminalreporter.write_line(f"SMOKEWATCH_TEST_KEEP=1: private servers kept in {path}")
