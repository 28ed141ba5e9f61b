"""Sites and contacts through the HTTP API: CRUD, scope (404 outside it), the household file."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.api import ApiWorld, Org

WECOM = "wecombot://abcdef0123456789abcdef0123456789"
JSON_HOOK = "jsons://user:s3cretpass@hooks.example.org/alarm"


def household(org: Org, **overrides: Any) -> dict[str, Any]:
    body = {
        "org_id": org.id,
        "kind": "household",
        "category": "elderly_alone",
        "name": "王秀英家",
        "address": "东村3组12号",
        "latitude": 35.36,
        "longitude": 116.58,
        "resident_name": "王秀英",
        "resident_situation": ["独居", "行动不便"],
        "key_holder_name": "李明",
        "key_holder_phone": "13800000001",
        "risk_flags": ["oxygen_at_home"],
    }
    body.update(overrides)
    return body


def test_create_site_then_read_household_file(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    headers = api.headers("installer", org=tree.village)

    created = api_client.post("/api/v1/sites", json=household(tree.grid), headers=headers)
    assert created.status_code == 201, created.text
    site = created.json()
    assert site["org"] == {"id": tree.grid.id, "name": tree.grid.name}
    assert site["resident_situation"] == ["独居", "行动不便"]

    contact = api_client.post(
        "/api/v1/contacts",
        json={"site_id": site["id"], "name": "张伟", "role": "family", "priority": 1,
              "phone": "13800000002"},
        headers=headers,
    )  # fmt: skip
    assert contact.status_code == 201, contact.text

    file = api_client.get(f"/api/v1/sites/{site['id']}", headers=headers)
    assert file.status_code == 200
    body = file.json()
    assert body["name"] == "王秀英家"
    assert [c["name"] for c in body["contacts"]] == ["张伟"]
    assert body["devices"] == [] and body["recent_incidents"] == []
    assert [h["action"] for h in body["history"]] == ["site_created"]


def test_update_site_changes_only_sent_fields(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    headers = api.headers("operator", org=tree.village)
    site = api_client.post("/api/v1/sites", json=household(tree.village), headers=headers).json()

    patched = api_client.patch(
        f"/api/v1/sites/{site['id']}",
        json={"address": "东村3组14号", "notes": "门口有台阶"},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["address"] == "东村3组14号"
    assert patched.json()["resident_name"] == "王秀英"

    wrong = api_client.patch(
        f"/api/v1/sites/{site['id']}", json={"category": "shop"}, headers=headers
    )
    assert wrong.status_code == 400
    assert "category" in wrong.json()["error"]["message"]


def test_read_site_other_village_is_not_found(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    admin = api.admin_headers()
    theirs = api_client.post(
        "/api/v1/sites", json=household(tree.other_village), headers=admin
    ).json()
    mine = api_client.post("/api/v1/sites", json=household(tree.village), headers=admin).json()
    operator = api.headers("operator", org=tree.village)

    assert api_client.get(f"/api/v1/sites/{theirs['id']}", headers=operator).status_code == 404
    assert (
        api_client.patch(
            f"/api/v1/sites/{theirs['id']}", json={"notes": "x"}, headers=operator
        ).status_code
        == 404
    )
    listed = api_client.get("/api/v1/sites", headers=operator).json()
    assert [s["id"] for s in listed["items"]] == [mine["id"]]
    assert listed["total"] == 1
    create_there = api_client.post(
        "/api/v1/sites", json=household(tree.other_grid), headers=operator
    )
    assert create_there.status_code == 404


def test_list_sites_filters_sorts_and_pages(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    headers = api.headers("operator", org=tree.sub_district)
    for n, name in enumerate(["丙", "甲", "乙"]):
        api_client.post(
            "/api/v1/sites",
            json=household(tree.village, name=f"{name}家", address=f"东村{n}号"),
            headers=headers,
        )
    api_client.post(
        "/api/v1/sites",
        json={"org_id": tree.other_village.id, "kind": "venue", "category": "eatery",
              "name": "西村小饭店", "address": "西村大街1号"},
        headers=headers,
    )  # fmt: skip

    page = api_client.get(
        "/api/v1/sites", params={"sort": "-address", "limit": 2}, headers=headers
    ).json()
    assert page["total"] == 4 and page["limit"] == 2
    assert [s["address"] for s in page["items"]] == ["西村大街1号", "东村2号"]
    venues = api_client.get("/api/v1/sites", params={"kind": "venue"}, headers=headers).json()
    assert [s["name"] for s in venues["items"]] == ["西村小饭店"]
    found = api_client.get("/api/v1/sites", params={"q": "甲"}, headers=headers).json()
    assert [s["name"] for s in found["items"]] == ["甲家"]
    subtree = api_client.get(
        "/api/v1/sites", params={"org_id": tree.village.id}, headers=headers
    ).json()
    assert subtree["total"] == 3
    bad_sort = api_client.get("/api/v1/sites", params={"sort": "password"}, headers=headers)
    assert bad_sort.status_code == 400


def test_archive_site_hides_it_from_lists(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    headers = api.headers("operator", org=tree.village)
    site = api_client.post("/api/v1/sites", json=household(tree.village), headers=headers).json()
    installer = api.headers("installer", org=tree.village)

    assert api_client.delete(f"/api/v1/sites/{site['id']}", headers=installer).status_code == 403
    archived = api_client.delete(f"/api/v1/sites/{site['id']}", headers=headers)
    assert archived.status_code == 200 and archived.json()["archived_at"]
    assert api_client.get("/api/v1/sites", headers=headers).json()["total"] == 0
    with_archived = api_client.get(
        "/api/v1/sites", params={"include_archived": True}, headers=headers
    )
    assert with_archived.json()["total"] == 1


def test_create_site_invalid_fields_say_which(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    headers = api.headers("operator", org=tree.village)
    response = api_client.post(
        "/api/v1/sites",
        json=household(tree.village, latitude=123, key_holder_phone="call me"),
        headers=headers,
    )
    assert response.status_code == 422
    fields = {f["field"] for f in response.json()["error"]["fields"]}
    assert {"body.latitude", "body.key_holder_phone"} <= fields


def test_read_contact_channels_masked_except_for_administrators(
    api_client: TestClient, api: ApiWorld
) -> None:
    tree = api.tree()
    admin = api.admin_headers()
    site = api_client.post("/api/v1/sites", json=household(tree.village), headers=admin).json()
    created = api_client.post(
        "/api/v1/contacts",
        json={"site_id": site["id"], "name": "张伟", "role": "family",
              "phone": "13800000002", "channels": [JSON_HOOK, WECOM]},
        headers=admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    contact_id = created.json()["id"]
    assert created.json()["channels"] == [JSON_HOOK, WECOM]

    operator = api.headers("operator", org=tree.village)
    seen = api_client.get(f"/api/v1/contacts/{contact_id}", headers=operator).json()
    assert "s3cretpass" not in str(seen["channels"])
    assert "abcdef0123456789abcdef0123456789" not in str(seen["channels"])
    assert seen["phone"] == "13800000002"

    viewer = api.headers("viewer", org=tree.village)
    summary = api_client.get(f"/api/v1/contacts/{contact_id}", headers=viewer).json()
    assert summary["channels"] == [] and summary["phone"] == "*********02"

    # An operator sending the masked channels back (plus a new one) keeps the secrets.
    updated = api_client.patch(
        f"/api/v1/contacts/{contact_id}",
        json={"channels": [*seen["channels"], "json://hooks.example.org/x"]},
        headers=operator,
    )
    assert updated.status_code == 200, updated.text
    stored = api.db.execute("SELECT channels FROM contacts WHERE id = %s", (contact_id,))
    assert stored.fetchone()["channels"] == [JSON_HOOK, WECOM, "json://hooks.example.org/x"]


def test_create_contact_refuses_unparseable_channel(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    headers = api.headers("operator", org=tree.village)
    site = api_client.post("/api/v1/sites", json=household(tree.village), headers=headers).json()
    response = api_client.post(
        "/api/v1/contacts",
        json={"site_id": site["id"], "name": "张伟", "role": "family",
              "channels": ["nosuchscheme://x", "not a url"]},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 422
    [field] = response.json()["error"]["fields"]
    assert field["field"] == "body.channels"
    assert "channel 1" in field["message"]


def test_list_contacts_by_organisation_in_scope_only(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    admin = api.admin_headers()
    for org, name in ((tree.village, "东村网格员"), (tree.other_village, "西村网格员")):
        response = api_client.post(
            "/api/v1/contacts",
            json={"org_id": org.id, "name": name, "role": "grid_worker", "phone": "13900000000"},
            headers=admin,
        )
        assert response.status_code == 201
    operator = api.headers("operator", org=tree.village)
    listed = api_client.get(
        "/api/v1/contacts", params={"role": "grid_worker"}, headers=operator
    ).json()
    assert [c["name"] for c in listed["items"]] == ["东村网格员"]
    other = api_client.get(
        "/api/v1/contacts", params={"org_id": tree.other_village.id}, headers=operator
    ).json()
    assert other["items"] == []


def test_read_site_viewer_sees_phones_masked(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    operator = api.headers("operator", org=tree.village)
    site = api_client.post(
        "/api/v1/sites", json=household(tree.village, phone="13911112222"), headers=operator
    ).json()
    viewer = api.headers("viewer", org=tree.village)

    file = api_client.get(f"/api/v1/sites/{site['id']}", headers=viewer).json()
    assert (file["phone"], file["key_holder_phone"]) == ("*********22", "*********01")
    listed = api_client.get("/api/v1/sites", headers=viewer).json()["items"]
    assert listed[0]["key_holder_phone"] == "*********01"
    by_phone = api_client.get("/api/v1/sites", params={"q": "13911112222"}, headers=viewer)
    assert by_phone.json()["total"] == 0
    for_operator = api_client.get("/api/v1/sites", params={"q": "1391111"}, headers=operator)
    assert for_operator.json()["total"] == 1
