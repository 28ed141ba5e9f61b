"""The live feed keeps checking who is listening: a real uvicorn, real SSE streams over httpx.

A stream re-checks its caller's credentials at every ping and ends (``event: closed``) after
logout, deactivation, a revoked API key or the login token's expiry; at most
``api_live_max_streams`` streams per caller.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest

from api.security import issue_token
from api.settings import ApiSettings
from tests.support.api import ApiWorld, running_api
from tests.test_api_live import SseReader, fast_server, wait_for_frame

__all__ = ["fast_server"]  # the fixture


def open_stream(base: str, headers: dict[str, str]) -> SseReader:
    reader = SseReader(f"{base}/api/v1/live", headers)
    wait_for_frame(reader, lambda e, d: e == "comment" and d == "connected")
    assert reader.status == 200
    return reader


def reader_thread(reader: SseReader) -> threading.Thread:
    thread: threading.Thread = reader._thread
    return thread


def assert_stream_ends(reader: SseReader, *, timeout: float = 15.0) -> None:
    """The server sends ``event: closed`` and closes the response (bounded wait)."""
    frames = wait_for_frame(reader, lambda e, d: e == "closed", timeout=timeout)
    assert frames[-1][1] == {"reason": "credentials"}
    reader_thread(reader).join(timeout=timeout)
    assert not reader_thread(reader).is_alive(), "the stream stayed open after closed"


def stream_status(base: str, headers: dict[str, str]) -> int:
    """Open a stream, read its status, close it at once."""
    url = f"{base}/api/v1/live"
    with httpx.stream("GET", url, headers=headers, timeout=10) as answer:
        return answer.status_code


def logout(base: str, headers: dict[str, str]) -> None:
    answer = httpx.post(f"{base}/api/v1/auth/logout", headers=headers, timeout=10)
    assert answer.status_code == 204, answer.text


@pytest.mark.parametrize("how", ["logout", "deactivate", "version bump"])
def test_end_live_stream_after_user_credentials_revoked(
    api: ApiWorld, fast_server: str, how: str
) -> None:
    user = api.create_user("operator")
    reader = open_stream(fast_server, user.headers)
    try:
        wait_for_frame(reader, lambda e, d: e == "comment" and d == "ping")
        actions: dict[str, Callable[[], object]] = {
            "logout": lambda: logout(fast_server, user.headers),
            "deactivate": lambda: api.db.execute(
                "UPDATE users SET active = false WHERE id = %s", (user.id,)
            ),
            "version bump": lambda: api.db.execute(
                "UPDATE users SET token_version = token_version + 1 WHERE id = %s", (user.id,)
            ),
        }
        actions[how]()

        assert_stream_ends(reader)
    finally:
        reader.close()


def test_end_live_stream_after_api_key_revoked(api: ApiWorld, fast_server: str) -> None:
    key = api.create_api_key("viewer")
    reader = open_stream(fast_server, {"X-API-Key": key})
    try:
        wait_for_frame(reader, lambda e, d: e == "comment" and d == "ping")
        api.db.execute("UPDATE api_keys SET revoked_at = now() WHERE revoked_at IS NULL")

        assert_stream_ends(reader)
    finally:
        reader.close()


def test_end_live_stream_when_login_token_expires(api: ApiWorld, api_settings: ApiSettings) -> None:
    slow = api_settings.model_copy(update={"api_live_ping_s": 120.0})  # only expiry can end it
    user = api.create_user("operator")
    token, _ = issue_token(
        user_id=user.id, version=0, secret=api_settings.api_secret.get_secret_value(), ttl_s=3
    )
    with running_api(slow) as base:
        reader = open_stream(base, {"Authorization": f"Bearer {token}"})
        try:
            assert_stream_ends(reader, timeout=20.0)
        finally:
            reader.close()


def test_reject_live_stream_beyond_limit_with_429(
    api: ApiWorld, api_settings: ApiSettings, fast_server: str
) -> None:
    user = api.create_user("operator")
    readers = [open_stream(fast_server, user.headers) for _ in range(5)]
    other = open_stream(fast_server, api.headers("operator"))  # another caller is not counted
    try:
        sixth = httpx.get(f"{fast_server}/api/v1/live", headers=user.headers, timeout=10)

        assert api_settings.api_live_max_streams == 5
        assert sixth.status_code == 429, sixth.text
        assert sixth.json()["error"]["code"] == "too_many_requests"
        readers.pop().close()  # the reader stops at the next ping; the server frees its place
        deadline = time.monotonic() + 15
        while stream_status(fast_server, user.headers) != 200:
            assert time.monotonic() < deadline, "the closed stream's place was not freed"
            time.sleep(0.2)
    finally:
        for reader in [*readers, other]:
            reader.close()
