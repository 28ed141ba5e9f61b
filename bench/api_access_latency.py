"""Latency of the API's access-control path on loopback: login, token and API-key requests.

    python -m bench.api_access_latency [--requests 500] [--logins 20] [--users 2000]

Runs private PostgreSQL and Mosquitto (bench/servers.py), the app under uvicorn in this
process (one worker), production argon2 parameters, and one sequential httpx client, so the
figures are per-request latencies, not throughput.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import uvicorn
from psycopg.rows import dict_row

from api.app import create_app
from api.security import Passwords, digest, new_api_key
from api.settings import ApiSettings
from api.users.service import insert_user
from bench.servers import private_servers
from core.factory import create_organisation
from core.migrate import migrate

PASSWORD = "bench password 12345"


def seed(database_url: str, users: int, passwords: Passwords) -> str:
    """An organisation, ``users`` users (one real hash, reused), an administrator, an API key."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        org_id = create_organisation(conn, level="city", code="bench", name="bench")
        same_hash = passwords.hash(PASSWORD)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO users (username, name, password_hash, role, org_id) "
                "VALUES (%s, %s, %s, 'viewer', %s)",
                [(f"user{i:06d}", f"用户{i}", same_hash, org_id) for i in range(users)],
            )
        insert_user(conn, username="admin", name="admin", role="administrator",
                     password=PASSWORD, passwords=passwords)  # fmt: skip
        key, key_id = new_api_key()
        conn.execute(
            "INSERT INTO api_keys (key_id, key_hash, name, role) "
            "VALUES (%s, %s, 'bench', 'administrator')",
            (key_id, digest(key)),
        )
        conn.commit()
    return key


def timed(count: int, call: Callable[[], httpx.Response]) -> list[float]:
    """Milliseconds of ``count`` sequential calls (each must answer 2xx)."""
    out = []
    for _ in range(count):
        started = time.perf_counter()
        response = call()
        out.append((time.perf_counter() - started) * 1000)
        assert response.is_success, response.text
    return out


def summary(name: str, values: list[float]) -> str:
    values = sorted(values)
    p95 = values[max(0, int(len(values) * 0.95) - 1)]
    return (f"{name:<34} n={len(values):<5} p50={statistics.median(values):7.1f} ms  "
            f"p95={p95:7.1f} ms  max={values[-1]:7.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--logins", type=int, default=20)
    parser.add_argument("--users", type=int, default=2000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="sw-bench-api-") as folder,
        private_servers(Path(folder), durable=False) as (database_url, mqtt_url),
    ):
        migrate(database_url)
        settings = ApiSettings(environment="development", database_url=database_url,
                               api_secret="bench-" + "k" * 40,
                               mqtt_url=mqtt_url, api_login_max_failures=1000)  # fmt: skip
        key = seed(database_url, args.users, Passwords.from_settings(settings))
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0,
                                               log_config=None, access_log=False))  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            body = {"username": "admin", "password": PASSWORD}
            logins = timed(args.logins, lambda: client.post("/api/v1/auth/token", json=body))
            token = client.post("/api/v1/auth/token", json=body).json()["access_token"]
            client.cookies.clear()
            bearer = {"Authorization": f"Bearer {token}"}
            me = timed(args.requests, lambda: client.get("/api/v1/me", headers=bearer))
            by_key = timed(
                args.requests, lambda: client.get("/api/v1/me", headers={"X-API-Key": key})
            )
            users = timed(
                args.requests // 5,
                lambda: client.get(
                    "/api/v1/users", params={"limit": 50, "sort": "-created_at"}, headers=bearer
                ),
            )
            health = timed(args.requests, lambda: client.get("/healthz"))
        server.should_exit = True
        thread.join(timeout=10)
    print(summary("POST /auth/token (argon2id 64 MiB)", logins))
    print(summary("GET /me, bearer token", me))
    print(summary("GET /me, API key", by_key))
    print(summary(f"GET /users limit 50 of {args.users + 1}", users))
    print(summary("GET /healthz (no auth, no DB)", health))


if __name__ == "__main__":
    main()
