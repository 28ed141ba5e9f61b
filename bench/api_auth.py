"""Credentials for the API benchmark: an unscoped administrator with a login token."""

from __future__ import annotations

import secrets

import psycopg
from psycopg.rows import dict_row

from api.security import Passwords, issue_token
from api.users.service import insert_user

TOKEN_SECRET = "bench-token-secret-" + "x" * 32
ACK_SECRET = "bench-ack-secret-" + "y" * 32


def api_environment() -> dict[str, str]:
    """Settings the benchmark's API process needs to accept the token below."""
    return {
        "SMOKEWATCH_API_SECRET": TOKEN_SECRET,
        "SMOKEWATCH_ACK_SECRET": ACK_SECRET,
        "SMOKEWATCH_API_POOL_MAX": "10",
    }


def bench_credentials(url: str) -> dict[str, str]:
    """Headers of a new administrator (the whole city in scope)."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        user_id = insert_user(
            conn, username=f"bench-{secrets.token_hex(4)}", name="bench", role="administrator",
            password=secrets.token_urlsafe(16), passwords=Passwords(time_cost=1, memory_kib=8192),
        )  # fmt: skip
    token, _ = issue_token(user_id=user_id, version=0, secret=TOKEN_SECRET, ttl_s=3600)
    return {"Authorization": f"Bearer {token}"}
