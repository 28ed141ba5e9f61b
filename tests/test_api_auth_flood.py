"""Login under a flood: no pooled connection held while hashing, per-address limit across
usernames, a cap on logins waiting for a hash slot, and concurrent guesses within the limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.security import Passwords
from api.settings import ApiSettings
from core.errors import ConfigurationError
from devtools.localservers import LocalMosquitto
from tests.support.api import ApiWorld, make_api_settings

TOKEN = "/api/v1/auth/token"
ME = "/api/v1/me"


@pytest.fixture
def api_settings(
    request: pytest.FixtureRequest, database_url: str, mqtt_broker: LocalMosquitto
) -> ApiSettings:
    """Test settings; a test overrides some with ``indirect`` parametrization."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    return make_api_settings(database_url, mqtt_broker.url, **overrides)


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def app_passwords(client: TestClient) -> Passwords:
    passwords: Passwords = client.app.state.passwords  # type: ignore[attr-defined]
    return passwords


@pytest.mark.parametrize(
    "api_settings",
    [{"api_pool_max": 1, "api_pool_timeout_s": 1.0, "api_argon2_max_parallel": 1}],
    indirect=True,
)
def test_create_token_waiting_for_hash_holds_no_connection(
    api_client: TestClient, api: ApiWorld
) -> None:
    user = api.create_user("operator")
    api.login(user.username, user.password)  # warm up (the unknown-user dummy hash)
    passwords = app_passwords(api_client)
    # Another login holds the only hash slot. (With the default two slots the login hashed at
    # once and was often gone before the poll below saw it waiting: issue 21's flaky test.)
    assert passwords._slots.acquire(timeout=5)
    results: list[httpx.Response] = []
    body = {"username": user.username, "password": user.password}
    login = threading.Thread(target=lambda: results.append(api_client.post(TOKEN, json=body)))
    try:
        login.start()
        wait_for(lambda: passwords.admitted == 1, "the login to wait for a hash slot")
        # The only pooled connection is free for an operator's request meanwhile.
        assert api_client.get(ME, headers=user.headers).status_code == 200
    finally:
        passwords._slots.release()
        login.join(timeout=30)
    assert [r.status_code for r in results] == [200]


@pytest.mark.parametrize(
    "api_settings", [{"api_login_max_failures": 1, "api_login_max_failures_per_ip": 3}],
    indirect=True,
)  # fmt: skip
def test_create_token_spraying_usernames_locks_the_address(
    api_client: TestClient, api: ApiWorld
) -> None:
    user = api.create_user("operator")
    for name in ("wang.fang", "li.na", "zhao.lei"):
        wrong = api_client.post(TOKEN, json={"username": name, "password": "wrong-pass"})
        assert wrong.status_code == 401
    right = api_client.post(TOKEN, json={"username": user.username, "password": user.password})
    assert right.status_code == 429
    assert right.json()["error"]["code"] == "too_many_requests"
    assert int(right.headers["retry-after"]) > 0
    api.db.execute("UPDATE login_failures SET window_start = now() - interval '1 day'")
    assert api.login(user.username, user.password)["user"]["id"] == user.id


@pytest.mark.parametrize(
    "api_settings", [{"api_login_max_failures": 2, "api_login_max_failures_per_ip": 6}],
    indirect=True,
)  # fmt: skip
def test_create_token_one_locked_account_never_locks_the_address(
    api_client: TestClient, api: ApiWorld
) -> None:
    """Issue 15, item 4: 30 wrong passwords for one user made the next user's login 429."""
    victim, colleague = api.create_user("operator"), api.create_user("operator")
    wrong = {"username": victim.username, "password": "wrong-pass"}
    statuses = [api_client.post(TOKEN, json=wrong).status_code for _ in range(30)]
    assert statuses == [401, 401] + [429] * 28  # only the 2 real failures count
    right = api_client.post(TOKEN, json={"username": colleague.username,
                                         "password": colleague.password})  # fmt: skip
    assert right.status_code == 200
    counts = api.db.execute(
        "SELECT username, failures FROM login_failures ORDER BY username"
    ).fetchall()
    assert counts == [{"username": "", "failures": 2},
                      {"username": victim.username.lower(), "failures": 2}]  # fmt: skip


def test_create_token_address_limit_below_three_user_limits_is_refused(
    database_url: str, mqtt_broker: LocalMosquitto
) -> None:
    with pytest.raises(ConfigurationError):
        make_api_settings(database_url, mqtt_broker.url, api_login_max_failures=5,
                          api_login_max_failures_per_ip=14)  # fmt: skip


def test_create_token_success_gives_back_its_reservation(
    api_client: TestClient, api: ApiWorld
) -> None:
    user = api.create_user("operator")
    for _ in range(api.settings.api_login_max_failures_per_ip + 2):
        api.login(user.username, user.password)  # successes never lock the address out
    assert api.db.execute("SELECT count(*) AS n FROM login_failures").fetchone() == {"n": 0}


@pytest.mark.parametrize(
    "api_settings",
    [{"api_argon2_max_parallel": 1, "api_login_max_waiting": 0}],
    indirect=True,
)
def test_create_token_too_many_waiting_is_429_at_once(
    api_client: TestClient, api: ApiWorld
) -> None:
    user = api.create_user("operator")
    passwords = app_passwords(api_client)
    with passwords.admit():  # another login is hashing; nobody may queue behind it
        response = api_client.post(
            TOKEN, json={"username": user.username, "password": user.password}
        )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_requests"
    assert response.headers["retry-after"] == "1"
    assert api.db.execute("SELECT count(*) AS n FROM login_failures").fetchone() == {"n": 0}
    assert api.login(user.username, user.password)["user"]["id"] == user.id


@pytest.mark.parametrize(
    "api_settings",
    [{"api_login_max_failures": 2, "api_login_max_waiting": 20}],
    indirect=True,
)
def test_create_token_concurrent_guesses_stay_within_limit(
    api_client: TestClient, api: ApiWorld
) -> None:
    user = api.create_user("operator")
    guesses = 10
    statuses: list[int] = []
    start = threading.Barrier(guesses)

    def guess(i: int) -> None:
        start.wait(timeout=10)
        body = {"username": user.username, "password": f"wrong-pass-{i}"}
        statuses.append(api_client.post(TOKEN, json=body).status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(statuses) == guesses
    assert statuses.count(401) <= api.settings.api_login_max_failures, statuses
    assert set(statuses) <= {401, 429}


def test_settings_trust_no_forwarding_proxy_by_default() -> None:
    assert ApiSettings.model_fields["api_forwarded_allow_ips"].default == ""
