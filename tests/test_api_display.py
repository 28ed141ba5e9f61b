"""A wall screen's display session (issue 20, item 9): an API key made for the screen becomes
a long-lived session cookie, not a 12-hour login; revoking the key ends it; administrator or
installer keys are refused for a screen."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.api import ApiWorld


def test_open_display_session_with_key_then_revoke(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    admin = api.admin_headers()

    def key(role: str) -> dict[str, str]:
        body = {"name": f"大屏-{role}", "role": role, "org_id": tree.village.id}
        made = api_client.post("/api/v1/api-keys", headers=admin, json=body)
        assert made.status_code == 201, made.text
        return {"id": made.json()["id"], "key": made.json()["key"]}

    viewer = key("viewer")
    opened = api_client.post("/api/v1/auth/display", json={"api_key": viewer["key"]})

    assert opened.status_code == 204, opened.text
    cookie = opened.headers["set-cookie"]
    max_age = int(cookie.split("Max-Age=")[1].split(";")[0])
    assert max_age > 30 * 86400, "a display outlives the 12-hour login"
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    me = api_client.get("/api/v1/me")  # the client keeps the cookie
    assert me.status_code == 200 and me.json()["role"] == "viewer"
    assert api_client.get("/api/v1/incidents").status_code == 200
    assert api_client.delete(f"/api/v1/api-keys/{viewer['id']}", headers=admin).status_code == 204
    assert api_client.get("/api/v1/me").status_code == 401, "revoking the key ends the display"

    api_client.cookies.clear()
    assert (
        api_client.post("/api/v1/auth/display", json={"api_key": "swk_nope.nope"}).status_code
        == 401
    )
    installer = key("installer")
    refused = api_client.post("/api/v1/auth/display", json={"api_key": installer["key"]})
    assert refused.status_code == 403
