"""Users, API keys and organisations, managed by administrators inside their scope."""

from __future__ import annotations

import subprocess
import sys

from fastapi.testclient import TestClient

from core.factory import create_site
from tests.support.api import DEFAULT_PASSWORD, ApiWorld

USERS = "/api/v1/users"
KEYS = "/api/v1/api-keys"
ORGS = "/api/v1/organisations"


def new_user(org_id: int | None, role: str = "operator", username: str = "zhang.wei") -> dict:  # type: ignore[type-arg]
    return {"username": username, "name": "张伟", "password": DEFAULT_PASSWORD, "role": role,
            "org_id": org_id}  # fmt: skip


def test_create_user_then_login_and_list(api_client: TestClient, api: ApiWorld) -> None:
    admin = api.admin_headers()
    village = api.tree().village
    created = api_client.post(USERS, json=new_user(village.id), headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["username"] == "zhang.wei" and body["org_name"] == "东村"
    assert "password" not in body and "password_hash" not in body
    assert api.login("zhang.wei", DEFAULT_PASSWORD)["user"]["role"] == "operator"
    listed = api_client.get(USERS, params={"q": "zhang", "sort": "-created_at"}, headers=admin)
    assert listed.status_code == 200
    assert [u["id"] for u in listed.json()["items"]] == [body["id"]]
    assert listed.json()["total"] == 1


def test_create_user_duplicate_username_is_409(api_client: TestClient, api: ApiWorld) -> None:
    admin = api.admin_headers()
    village = api.tree().village
    assert api_client.post(USERS, json=new_user(village.id), headers=admin).status_code == 201
    again = api_client.post(USERS, json=new_user(village.id, username="Zhang.Wei"), headers=admin)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_create_user_non_admin_without_org_is_400(api_client: TestClient, api: ApiWorld) -> None:
    response = api_client.post(USERS, json=new_user(None), headers=api.admin_headers())
    assert response.status_code == 400


def test_create_user_scoped_admin_only_inside_scope(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    admin = api.headers("administrator", org=tree.village)
    inside = api_client.post(USERS, json=new_user(tree.grid.id), headers=admin)
    assert inside.status_code == 201, inside.text
    for org_id, name in ((tree.other_village.id, "a1"), (tree.sub_district.id, "a2"),
                         (None, "a3")):  # fmt: skip
        response = api_client.post(
            USERS, json=new_user(org_id, "administrator", username=name), headers=admin
        )
        assert response.status_code == 400, (org_id, response.text)


def test_read_users_scoped_admin_sees_only_scope(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    mine = api.create_user("operator", org=tree.grid)
    theirs = api.create_user("operator", org=tree.other_village)
    root_admin = api.create_user("administrator")
    admin = api.headers("administrator", org=tree.village)
    ids = {u["id"] for u in api_client.get(USERS, headers=admin).json()["items"]}
    assert mine.id in ids
    assert theirs.id not in ids and root_admin.id not in ids
    assert api_client.get(f"{USERS}/{theirs.id}", headers=admin).status_code == 404
    patch = api_client.patch(f"{USERS}/{theirs.id}", json={"name": "x"}, headers=admin)
    assert patch.status_code == 404


def test_update_user_role_change_logs_user_out(api_client: TestClient, api: ApiWorld) -> None:
    admin = api.admin_headers()
    user = api.create_user("operator")
    renamed = api_client.patch(f"{USERS}/{user.id}", json={"name": "新名字"}, headers=admin)
    assert renamed.json()["name"] == "新名字"
    assert api_client.get("/api/v1/me", headers=user.headers).status_code == 200
    demoted = api_client.patch(f"{USERS}/{user.id}", json={"role": "viewer"}, headers=admin)
    assert demoted.status_code == 200 and demoted.json()["role"] == "viewer"
    assert api_client.get("/api/v1/me", headers=user.headers).status_code == 401


def test_update_user_password_then_old_password_fails(
    api_client: TestClient, api: ApiWorld
) -> None:
    admin = api.admin_headers()
    user = api.create_user("installer")
    new = "a brand new passphrase"
    assert api_client.patch(f"{USERS}/{user.id}", json={"password": new},
                            headers=admin).status_code == 200  # fmt: skip
    bad = api_client.post("/api/v1/auth/token",
                          json={"username": user.username, "password": user.password})  # fmt: skip
    assert bad.status_code == 401
    assert api.login(user.username, new)["user"]["id"] == user.id


def test_delete_user_deactivates_and_refuses_self(api_client: TestClient, api: ApiWorld) -> None:
    admin = api.create_user("administrator")
    user = api.create_user("viewer")
    assert api_client.delete(f"{USERS}/{user.id}", headers=admin.headers).status_code == 204
    assert api_client.get("/api/v1/me", headers=user.headers).status_code == 401
    read = api_client.get(f"{USERS}/{user.id}", headers=admin.headers).json()
    assert read["active"] is False
    assert api_client.delete(f"{USERS}/{admin.id}", headers=admin.headers).status_code == 400


def test_create_api_key_shown_once_then_works_until_revoked(
    api_client: TestClient, api: ApiWorld
) -> None:
    admin = api.admin_headers()
    village = api.tree().village
    created = api_client.post(
        KEYS, json={"name": "区平台对接", "role": "viewer", "org_id": village.id}, headers=admin
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("swk_")
    stored = api.db.execute("SELECT key_hash FROM api_keys").fetchone()
    assert stored is not None and key not in stored["key_hash"]
    listed = api_client.get(KEYS, headers=admin).json()
    assert "key" not in listed["items"][0] and listed["total"] == 1
    me = api_client.get("/api/v1/me", headers={"X-API-Key": key}).json()
    assert me["role"] == "viewer" and me["scope_paths"] == [village.path]
    key_id = created.json()["id"]
    assert api_client.delete(f"{KEYS}/{key_id}", headers=admin).status_code == 204
    assert api_client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401
    assert api_client.get(KEYS, headers=admin).json()["total"] == 0
    assert (
        api_client.get(KEYS, params={"include_revoked": True}, headers=admin).json()["total"] == 1
    )


def test_read_organisations_tree_is_scoped(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    whole = api_client.get(ORGS, headers=api.admin_headers()).json()
    assert [root["id"] for root in whole] == [tree.city.id]
    village_view = api_client.get(ORGS, headers=api.headers("viewer", org=tree.village)).json()
    assert [root["id"] for root in village_view] == [tree.village.id]
    assert [c["id"] for c in village_view[0]["children"]] == [tree.grid.id]
    operator = api.headers("operator", org=tree.village)
    assert api_client.get(f"{ORGS}/{tree.other_village.id}", headers=operator).status_code == 404


def test_create_organisation_checks_scope_and_level(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    admin = api.headers("administrator", org=tree.sub_district)
    body = {"parent_id": tree.village.id, "level": "grid", "code": "G-9", "name": "东村二网格"}
    created = api_client.post(ORGS, json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["path"] == f"{tree.village.path}{created.json()['id']}."
    wrong_level = {**body, "code": "G-10", "level": "district"}
    assert api_client.post(ORGS, json=wrong_level, headers=admin).status_code == 400
    root = {"level": "city", "code": "C-2", "name": "另一市"}
    assert api_client.post(ORGS, json=root, headers=admin).status_code == 400
    duplicate = api_client.post(ORGS, json=body, headers=admin)
    assert duplicate.status_code == 409
    renamed = api_client.patch(f"{ORGS}/{tree.grid.id}", json={"name_en": "East 1"}, headers=admin)
    assert renamed.json()["name_en"] == "East 1"


def test_update_escalation_override_is_used_by_alerting(
    api_client: TestClient, api: ApiWorld
) -> None:
    from alerting.policy import policy_for_site
    from alerting.settings import AlertingSettings

    tree = api.tree()
    admin = api.admin_headers()
    url = f"{ORGS}/{tree.village.id}/escalation"
    assert api_client.get(url, headers=admin).json()["updated_at"] is None
    put = api_client.put(url, json={"wave_delays_s": [0, 60, 180], "max_repages": 5,
                                    "repeat_intervals_s": [120, 600], "max_rounds": 10,
                                    "supervisor_after_s": 300, "answer_notices": ["fire"]},
                         headers=admin)  # fmt: skip
    assert put.status_code == 200, put.text
    assert put.json()["config"]["max_repages"] == 5
    site = create_site(api.db, org_id=tree.grid.id, name="李家", address="东村1号")
    policy = policy_for_site(api.db, site, AlertingSettings(environment="development"))
    assert policy.wave_delays_s == (0.0, 60.0, 180.0) and policy.max_repages == 5
    assert (policy.repeat_intervals_s, policy.max_rounds) == ((120.0, 600.0), 10)
    assert (policy.supervisor_after_s, policy.answer_notices) == (300.0, ("fire",))
    bad = api_client.put(url, json={"wave_roles": [["resident"], ["neighbour"]],
                                    "wave_delays_s": [0]}, headers=admin)  # fmt: skip
    assert bad.status_code == 422
    assert api_client.delete(url, headers=admin).status_code == 204
    assert api_client.get(url, headers=admin).json()["config"]["max_repages"] is None


def test_add_user_command_creates_user(api: ApiWorld, database_url: str) -> None:
    village = api.tree().village
    env = {"SMOKEWATCH_DATABASE_URL": database_url, "SMOKEWATCH_ENVIRONMENT": "development",
           "SMOKEWATCH_API_ARGON2_MEMORY_KIB": "8192", "PATH": "/usr/bin:/bin"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "smokewatch", "add-user", "li.na", "--role", "installer",
         "--org", village.code, "--name", "李娜", "--password-stdin"],
        input=f"{DEFAULT_PASSWORD}\n", capture_output=True, text=True, timeout=60, env=env,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert api.login("li.na", DEFAULT_PASSWORD)["user"]["name"] == "李娜"
    again = subprocess.run(
        [sys.executable, "-m", "smokewatch", "add-user", "li.na", "--role", "viewer",
         "--org", village.code, "--password-stdin"],
        input=f"{DEFAULT_PASSWORD}\n", capture_output=True, text=True, timeout=60, env=env,
        check=False,
    )  # fmt: skip
    assert again.returncode != 0 and "taken" in again.stderr


def test_add_user_command_password_option_as_the_demo_calls_it(
    api: ApiWorld, database_url: str
) -> None:
    env = {"SMOKEWATCH_DATABASE_URL": database_url, "SMOKEWATCH_ENVIRONMENT": "development",
           "SMOKEWATCH_API_ARGON2_MEMORY_KIB": "8192", "PATH": "/usr/bin:/bin"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "smokewatch", "add-user", "admin", "--role", "administrator",
         "--password", "demo-abcdefghijkl"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert api.login("admin", "demo-abcdefghijkl")["user"]["role"] == "administrator"


def test_delete_user_revokes_their_api_keys(api_client: TestClient, api: ApiWorld) -> None:
    admin = api.create_user("administrator")
    leaver = api.create_user("administrator")
    village = api.tree().village
    body = {"name": "对接", "role": "viewer", "org_id": village.id}
    key = api_client.post(KEYS, json=body, headers=leaver.headers).json()["key"]
    other = api_client.post(KEYS, json=body, headers=admin.headers).json()["key"]
    assert api_client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200
    assert api_client.delete(f"{USERS}/{leaver.id}", headers=admin.headers).status_code == 204
    assert api_client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401
    assert api_client.get("/api/v1/me", headers={"X-API-Key": other}).status_code == 200
    revoked = api.db.execute(
        "SELECT count(*) AS n FROM api_keys WHERE created_by = %s AND revoked_at IS NOT NULL",
        (leaver.id,),
    ).fetchone()
    assert revoked is not None and revoked["n"] == 1


def test_read_users_q_wildcards_are_literal(api_client: TestClient, api: ApiWorld) -> None:
    admin = api.admin_headers()
    village = api.tree().village
    for name in ("li_na", "liXna"):
        response = api_client.post(USERS, json=new_user(village.id, username=name), headers=admin)
        assert response.status_code == 201, response.text
    for q, expected in (("li_n", ["li_na"]), ("%", []), ("i_", ["li_na"])):
        listed = api_client.get(USERS, params={"q": q}, headers=admin).json()
        assert [u["username"] for u in listed["items"]] == expected, q
