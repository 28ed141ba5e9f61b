"""Login tokens, the session cookie, API keys, logout, the throttle, inactive users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from api.security import issue_token
from tests.api_support import ApiWorld

ME = "/api/v1/me"
TOKEN = "/api/v1/auth/token"


def test_create_token_valid_password_returns_token_and_cookie(
    api_client: TestClient, api: ApiWorld
) -> None:
    user = api.create_user("operator", name="王丽")
    response = api_client.post(TOKEN, json={"username": user.username, "password": user.password})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user"] == {"id": user.id, "username": user.username, "role": "operator",
                            "name": "王丽"}  # fmt: skip
    cookie = response.headers["set-cookie"]
    assert "sw_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    me = api_client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == user.username
    assert me.json()["scope_paths"] == [api.tree().village.path]


def test_read_me_with_cookie_only_is_authenticated(api_client: TestClient, api: ApiWorld) -> None:
    user = api.create_user("viewer")
    api.login(user.username, user.password)  # the client keeps the cookie
    assert api_client.get(ME).json()["id"] == user.id


def test_create_token_wrong_password_is_401(api_client: TestClient, api: ApiWorld) -> None:
    user = api.create_user("operator")
    response = api_client.post(TOKEN, json={"username": user.username, "password": "wrong-one!"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    unknown = api_client.post(TOKEN, json={"username": "nobody", "password": "whatever-x"})
    assert unknown.status_code == 401
    assert unknown.json() == response.json()  # no hint whether the username exists


def test_create_token_username_is_case_insensitive(api_client: TestClient, api: ApiWorld) -> None:
    user = api.create_user("operator", username="Wang.Li")
    assert api.login("wang.li", user.password)["user"]["id"] == user.id


def test_read_me_expired_token_is_401(api_client: TestClient, api: ApiWorld) -> None:
    user = api.create_user("operator")
    token, _ = issue_token(
        user_id=user.id,
        version=0,
        secret=api.settings.api_secret.get_secret_value(),
        ttl_s=60,
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    response = api_client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_read_me_forged_token_is_401(api_client: TestClient, api: ApiWorld) -> None:
    user = api.create_user("administrator")
    token, _ = issue_token(user_id=user.id, version=0, secret="another-secret-" + "z" * 40,
                           ttl_s=600)  # fmt: skip
    assert api_client.get(ME, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert api_client.get(ME).status_code == 401


def test_read_me_inactive_user_is_401(api_client: TestClient, api: ApiWorld) -> None:
    user = api.create_user("operator")
    assert api_client.get(ME, headers=user.headers).status_code == 200
    api.db.execute("UPDATE users SET active = false WHERE id = %s", (user.id,))
    assert api_client.get(ME, headers=user.headers).status_code == 401
    response = api_client.post(TOKEN, json={"username": user.username, "password": user.password})
    assert response.status_code == 401


def test_read_me_after_token_version_bump_is_401(api_client: TestClient, api: ApiWorld) -> None:
    user = api.create_user("operator")
    api.db.execute("UPDATE users SET token_version = token_version + 1 WHERE id = %s", (user.id,))
    assert api_client.get(ME, headers=user.headers).status_code == 401


def test_delete_token_logout_revokes_token_and_cookie(
    api_client: TestClient, api: ApiWorld
) -> None:
    user = api.create_user("operator")
    body = api.login(user.username, user.password)
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    response = api_client.post("/api/v1/auth/logout", headers=headers)
    assert response.status_code == 204
    assert 'sw_session=""' in response.headers["set-cookie"]
    assert api_client.get(ME, headers=headers).status_code == 401
    assert api_client.get(ME, headers=user.headers).status_code == 200  # other tokens live on


def test_create_token_throttled_after_failures(api_client: TestClient, api: ApiWorld) -> None:
    user = api.create_user("operator")
    limit = api.settings.api_login_max_failures
    for _ in range(limit):
        bad = api_client.post(TOKEN, json={"username": user.username, "password": "wrong-pass"})
        assert bad.status_code == 401
    right = {"username": user.username, "password": user.password}
    throttled = api_client.post(TOKEN, json=right)
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "too_many_requests"
    assert int(throttled.headers["retry-after"]) > 0
    # The window passes: the pair may try again, and a success clears the count.
    api.db.execute("UPDATE login_failures SET window_start = now() - interval '1 day'")
    assert api_client.post(TOKEN, json=right).status_code == 200
    assert api.db.execute("SELECT count(*) AS n FROM login_failures").fetchone() == {"n": 0}


def test_read_me_with_api_key_in_either_header(api_client: TestClient, api: ApiWorld) -> None:
    key = api.create_api_key("viewer")
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        response = api_client.get(ME, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["kind"] == "api_key"
        assert response.json()["role"] == "viewer"
    used = api.db.execute("SELECT last_used_at FROM api_keys").fetchone()
    assert used is not None and used["last_used_at"] is not None


def test_read_me_revoked_expired_or_wrong_api_key_is_401(
    api_client: TestClient, api: ApiWorld
) -> None:
    revoked = api.create_api_key("operator", revoked=True)
    expired = api.create_api_key("operator", expires_in_s=-10)
    good = api.create_api_key("operator")
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for key in (revoked, expired, tampered, "swk_nonsense"):
        assert api_client.get(ME, headers={"X-API-Key": key}).status_code == 401, key
    assert api_client.get(ME, headers={"X-API-Key": good}).status_code == 200
