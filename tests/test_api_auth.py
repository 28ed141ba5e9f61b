"""Login tokens, the session cookie, API keys, logout, the throttle, inactive users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import RelativeDep
from api.security import HashSlotTimeout, Passwords, digest, issue_token, new_link_token
from core.factory import create_contact, create_device, create_site
from core.incidents.tokens import make_ack_token
from tests.support.api import ApiWorld

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


def relative_world(api: ApiWorld) -> dict[str, int]:
    """A household with a contact, a device and an open fire incident."""
    site = create_site(api.db, org_id=api.tree().grid.id, name="李家", address="东村1号")
    contact = create_contact(api.db, site_id=site, name="李明", role="family")
    create_device(api.db, device_id="NZ-R1", site_id=site)
    incident = api.db.execute(
        "INSERT INTO incidents (device_id, site_id, kind, priority, opened_at, last_event_at) "
        "VALUES ('NZ-R1', %s, 'fire', 1, now(), now()) RETURNING id",
        (site,),
    ).fetchone()
    assert incident is not None
    return {"site": site, "contact": contact, "incident": incident["id"]}


def relative_client(api: ApiWorld) -> TestClient:
    """The app with one extra route that shows what RelativeDep resolved."""
    app = create_app(api.settings)

    @app.get("/t/{token}")
    def show(caller: RelativeDep) -> dict[str, object]:
        return {"kind": caller.kind, "role": caller.role, "site_id": caller.site_id,
                "contact_id": caller.contact_id, "incident_id": caller.incident_id,
                "scope": caller.scope_like()}  # fmt: skip

    return TestClient(app)


def test_relative_caller_from_alert_link_and_personal_link(api: ApiWorld) -> None:
    world = relative_world(api)
    secret = api.settings.ack_secret.get_secret_value()
    ack = make_ack_token(incident_id=world["incident"], contact_id=world["contact"],
                         secret=secret, ttl=timedelta(hours=1))  # fmt: skip
    personal = new_link_token()
    api.db.execute(
        "INSERT INTO relative_links (token_hash, contact_id, site_id, expires_at) "
        "VALUES (%s, %s, %s, now() + interval '30 days')",
        (digest(personal), world["contact"], world["site"]),
    )
    with relative_client(api) as client:
        by_alert = client.get(f"/t/{ack}").json()
        assert by_alert == {"kind": "relative", "role": "relative", "site_id": world["site"],
                            "contact_id": world["contact"], "incident_id": world["incident"],
                            "scope": []}  # fmt: skip
        by_link = client.get(f"/t/{personal}").json()
        assert by_link["site_id"] == world["site"] and by_link["incident_id"] is None


def test_relative_caller_bad_links_are_404(api: ApiWorld) -> None:
    world = relative_world(api)
    expired_ack = make_ack_token(incident_id=world["incident"], contact_id=world["contact"],
                                 secret=api.settings.ack_secret.get_secret_value(),
                                 ttl=timedelta(seconds=1),
                                 now=datetime.now(UTC) - timedelta(hours=1))  # fmt: skip
    forged = make_ack_token(incident_id=world["incident"], contact_id=world["contact"],
                            secret="forged-" + "q" * 40, ttl=timedelta(hours=1))  # fmt: skip
    revoked, expired = new_link_token(), new_link_token()
    api.db.execute(
        "INSERT INTO relative_links (token_hash, contact_id, site_id, expires_at, revoked_at) "
        "VALUES (%s, %s, %s, now() + interval '1 day', now()), "
        "(%s, %s, %s, now() - interval '1 second', NULL)",
        (digest(revoked), world["contact"], world["site"],
         digest(expired), world["contact"], world["site"]),
    )  # fmt: skip
    with relative_client(api) as client:
        for token in (expired_ack, forged, revoked, expired, "nonsense", "x" * 300):
            response = client.get(f"/t/{token}")
            assert response.status_code == 404, token
            assert response.json()["error"]["code"] == "not_found"


def test_read_root_redirects_to_the_board(api_client: TestClient) -> None:
    # The demo and the deployment print "/" as the dashboard's address.
    response = api_client.get("/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/ui/board"


def test_hash_password_all_slots_busy_is_unavailable() -> None:
    passwords = Passwords(time_cost=1, memory_kib=8192, max_parallel=1, wait_s=0.05)
    stored = passwords.hash("a long enough password")
    assert passwords.verify(stored, "a long enough password")
    assert passwords._slots.acquire(timeout=1)  # another login holds the only slot
    try:
        with pytest.raises(HashSlotTimeout):
            passwords.verify(stored, "a long enough password")
    finally:
        passwords._slots.release()


def test_update_password_own_ends_other_sessions(api_client: TestClient, api: ApiWorld) -> None:
    user = api.create_user("installer")
    other_session = api.login(user.username, user.password)["access_token"]
    body = {"current_password": user.password, "new_password": "my new long passphrase"}
    changed = api_client.put("/api/v1/me/password", json=body, headers=user.headers)
    assert changed.status_code == 200, changed.text
    new_token = changed.json()["access_token"]
    assert api_client.get(ME, headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    for old in (user.headers, {"Authorization": f"Bearer {other_session}"}):
        assert api_client.get(ME, headers=old).status_code == 401
    assert api.login(user.username, "my new long passphrase")["user"]["id"] == user.id


def test_update_password_wrong_current_is_400_and_counts(
    api_client: TestClient, api: ApiWorld
) -> None:
    user = api.create_user("viewer")
    body = {"current_password": "not my password", "new_password": "my new long passphrase"}
    wrong = api_client.put("/api/v1/me/password", json=body, headers=user.headers)
    assert wrong.status_code == 400
    row = api.db.execute("SELECT failures FROM login_failures").fetchone()
    assert row == {"failures": 1}
    key = api.create_api_key("viewer")
    by_key = api_client.put("/api/v1/me/password", json=body, headers={"X-API-Key": key})
    assert by_key.status_code == 403
