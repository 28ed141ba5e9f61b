"""Fixtures and helpers for API tests (registered for every test module by tests/conftest.py).

Fixtures, all on this test's own migrated database (``database_url``) and the session broker:

``api_settings``  ApiSettings for tests (environment "test", cheap argon2, non-Secure cookie).
``api_app``       ``create_app(api_settings)``.
``api_client``    a ``fastapi.testclient.TestClient`` with the lifespan running (pool open);
                  server errors come back as 500 responses, as in production, and are logged.
``api``           an :class:`ApiWorld`: make organisations, users, API keys, auth headers.
``api_server``    the same app served by a real uvicorn on a free loopback port (its base URL),
                  for clients that need real sockets (SSE, browsers, load tools).
``api_module``    module-scoped: one database, one running app and one ApiWorld shared by every
                  test of the module (``.client``, ``.api``), for large table tests where a
                  fresh database per row would cost seconds; rows must not depend on each other.

Typical use::

    def test_read_sites_operator_sees_own_village(api_client, api):
        tree = api.tree()                                   # city > ... > two villages
        headers = api.headers("operator", org=tree.village)  # a new operator scoped there
        assert api_client.get("/api/v1/sites", headers=headers).status_code == 200

An administrator without ``org`` sees the whole system; every other role defaults to
``tree().village``.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg.rows import DictRow, dict_row

from api.app import create_app
from api.security import Passwords, digest, issue_token, new_api_key
from api.settings import ApiSettings
from api.users.service import insert_user
from core.factory import create_organisation
from devtools.localservers import LocalMosquitto, LocalPostgres
from tests.conftest import create_database, drop_database

TEST_TOKEN_SECRET = "test-token-secret-" + "x" * 32
TEST_ACK_SECRET = "test-ack-secret-" + "y" * 32
DEFAULT_PASSWORD = "correct horse battery staple"
# organisations.level, top to bottom, as the fixtures build them
LEVELS = ("city", "district", "sub_district", "village", "grid")


def make_api_settings(database_url: str, mqtt_url: str, **overrides: Any) -> ApiSettings:
    """Settings for a test API on this database and broker; ``overrides`` win."""
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "mqtt_url": mqtt_url,
        "api_secret": TEST_TOKEN_SECRET,
        "ack_secret": TEST_ACK_SECRET,
        "api_cookie_secure": False,
        "api_argon2_time_cost": 1,
        "api_argon2_memory_kib": 8192,
        "api_pool_max": 4,
        "onenet_token": "test-onenet-token",
    }
    values.update(overrides)
    return ApiSettings(**values)


@pytest.fixture
def api_settings(database_url: str, mqtt_broker: LocalMosquitto) -> ApiSettings:
    """Test settings on this test's database and the session broker."""
    return make_api_settings(database_url, mqtt_broker.url)


@pytest.fixture
def api_app(api_settings: ApiSettings) -> FastAPI:
    """The application (lifespan not yet started)."""
    return create_app(api_settings)


@pytest.fixture
def api_client(api_app: FastAPI) -> Iterator[TestClient]:
    """An in-process client with the lifespan running."""
    with TestClient(api_app, raise_server_exceptions=False) as client:
        yield client


@dataclass(frozen=True, slots=True)
class Org:
    """An organisation row as the fixtures made it."""

    id: int
    code: str
    name: str
    level: str
    path: str
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class OrgTree:
    """city > district > sub_district > village > grid, plus a second village (with its own
    grid) under the same sub-district, so a test can show that scopes do not leak sideways."""

    city: Org
    district: Org
    sub_district: Org
    village: Org
    grid: Org
    other_village: Org
    other_grid: Org


@dataclass(frozen=True, slots=True)
class ApiUser:
    """A user the fixtures created, with the password to log in and ready-made headers."""

    id: int
    username: str
    password: str
    role: str
    org: Org | None
    headers: dict[str, str]


@dataclass
class ApiWorld:
    """Builds the people and places API tests need, directly in the database."""

    client: TestClient
    db: psycopg.Connection[DictRow]
    settings: ApiSettings
    passwords: Passwords
    _tree: OrgTree | None = field(default=None, init=False)

    def create_org(
        self,
        level: str,
        *,
        parent: Org | None = None,
        code: str | None = None,
        name: str | None = None,
    ) -> Org:
        """One organisation under ``parent`` (a root when None)."""
        code = code or f"{level}-{uuid.uuid4().hex[:8]}"
        org_id = create_organisation(
            self.db,
            level=level,
            code=code,
            name=name or f"{level} {code}",
            name_en=name,
            parent_id=parent.id if parent else None,
        )
        row = self.db.execute(
            "SELECT id, code, name, level, path, parent_id FROM organisations WHERE id = %s",
            (org_id,),
        ).fetchone()
        assert row is not None
        return Org(**row)

    def tree(self) -> OrgTree:
        """The standard hierarchy (made once per test)."""
        if self._tree is None:
            city = self.create_org("city", name="测试市")
            district = self.create_org("district", parent=city, name="测试区")
            sub = self.create_org("sub_district", parent=district, name="测试街道")
            village = self.create_org("village", parent=sub, name="东村")
            grid = self.create_org("grid", parent=village, name="东村一网格")
            other = self.create_org("village", parent=sub, name="西村")
            other_grid = self.create_org("grid", parent=other, name="西村一网格")
            self._tree = OrgTree(city, district, sub, village, grid, other, other_grid)
        return self._tree

    def create_user(
        self,
        role: str,
        *,
        org: Org | None = None,
        username: str | None = None,
        password: str = DEFAULT_PASSWORD,
        name: str | None = None,
        active: bool = True,
        default_org: bool = True,
    ) -> ApiUser:
        """A user of ``role``; non-administrators default to ``tree().village``."""
        if org is None and role != "administrator" and default_org:
            org = self.tree().village
        username = username or f"{role[:5]}-{uuid.uuid4().hex[:8]}"
        user_id = insert_user(
            self.db,
            username=username,
            name=name or username,
            role=role,
            org_id=org.id if org else None,
            password=password,
            passwords=self.passwords,
        )
        if not active:
            self.db.execute("UPDATE users SET active = false WHERE id = %s", (user_id,))
        token, _ = issue_token(
            user_id=user_id,
            version=0,
            secret=self.settings.api_secret.get_secret_value(),
            ttl_s=self.settings.api_token_ttl_s,
        )
        headers = {"Authorization": f"Bearer {token}"}
        return ApiUser(user_id, username, password, role, org, headers)

    def headers(self, role: str, *, org: Org | None = None) -> dict[str, str]:
        """Auth headers of a new user of ``role`` (scoped to ``org``, see create_user)."""
        return self.create_user(role, org=org).headers

    def admin_headers(self) -> dict[str, str]:
        """Auth headers of a new unscoped administrator (sees the whole system)."""
        return self.create_user("administrator").headers

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Log in through the API; the JSON body (raises unless 200)."""
        response = self.client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def create_api_key(
        self,
        role: str,
        *,
        org: Org | None = None,
        expires_in_s: float | None = None,
        revoked: bool = False,
    ) -> str:
        """An API key of ``role`` (non-administrators default to ``tree().village``)."""
        if org is None and role != "administrator":
            org = self.tree().village
        key, key_id = new_api_key()
        self.db.execute(
            "INSERT INTO api_keys (key_id, key_hash, name, role, org_id, expires_at, revoked_at) "
            "VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s), "
            "CASE WHEN %s THEN now() END)",
            (key_id, digest(key), f"test key {key_id}", role, org.id if org else None,
             expires_in_s, revoked),
        )  # fmt: skip
        return key


@pytest.fixture
def api(
    api_client: TestClient, db: psycopg.Connection[DictRow], api_settings: ApiSettings
) -> ApiWorld:
    """Make organisations, users and keys for this test (see :class:`ApiWorld`)."""
    return ApiWorld(api_client, db, api_settings, Passwords.from_settings(api_settings))


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_api(settings: ApiSettings, *, timeout: float = 20.0) -> Iterator[str]:
    """Serve ``create_app(settings)`` with uvicorn in a thread; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)


@pytest.fixture
def api_server(api_settings: ApiSettings) -> Iterator[str]:
    """Base URL of the API served by a real uvicorn on loopback (same database as ``api``)."""
    with running_api(api_settings) as url:
        yield url


@dataclass(frozen=True, slots=True)
class ApiModule:
    """A running app and its world, shared by a module's tests."""

    client: TestClient
    api: ApiWorld


@pytest.fixture(scope="module")
def api_module(
    pg_server: LocalPostgres, template_database: str, mqtt_broker: LocalMosquitto
) -> Iterator[ApiModule]:
    """One migrated database, one app (lifespan running) and one ApiWorld for the module."""
    name = create_database(pg_server, template=template_database)
    settings = make_api_settings(pg_server.url_for(name), mqtt_broker.url)
    try:
        with (
            psycopg.connect(settings.database_url, autocommit=True, row_factory=dict_row) as db,
            TestClient(create_app(settings), raise_server_exceptions=False) as client,
        ):
            yield ApiModule(
                client, ApiWorld(client, db, settings, Passwords.from_settings(settings))
            )
    finally:
        drop_database(pg_server, name)
