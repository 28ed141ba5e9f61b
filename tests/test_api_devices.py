"""Devices through the HTTP API: registration with credentials shown once, binding, listing by
state, replacement and removal that keep the history, scope."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tests.support.api import ApiWorld, Org


def make_site(client: TestClient, headers: dict[str, str], org: Org, name: str = "王家") -> int:
    response = client.post(
        "/api/v1/sites",
        json={"org_id": org.id, "kind": "household", "category": "elderly_alone",
              "name": name, "address": f"{name}地址", "resident_name": name},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    site_id: int = response.json()["id"]
    return site_id


def register(client: TestClient, headers: dict[str, str], device_id: str, **extra: Any) -> Any:
    return client.post(
        "/api/v1/devices", json={"id": device_id, "model_code": "sw-native-1", **extra},
        headers=headers,
    )  # fmt: skip


def test_register_device_shows_credentials_once_and_stores_hash(
    api_client: TestClient, api: ApiWorld
) -> None:
    headers = api.headers("installer")

    response = register(
        api_client, headers, "NZ-D0001",
        identities=[{"codec": "native", "external_id": "NZ-D0001"}],
    )  # fmt: skip

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "registered" and body["health"] == "never_seen"
    password = body["mqtt"]["password"]
    assert body["mqtt"]["username"] == "NZ-D0001" and len(password) >= 32
    stored = api.db.execute(
        "SELECT username, secret_hash, revoked_at FROM device_credentials WHERE device_id = %s",
        ("NZ-D0001",),
    ).fetchone()
    assert stored is not None and stored["revoked_at"] is None
    assert password not in stored["secret_hash"]
    assert stored["secret_hash"].startswith("$argon2id$")
    assert PasswordHasher().verify(stored["secret_hash"], password)
    read = api_client.get("/api/v1/devices/NZ-D0001", headers=headers)
    assert read.status_code == 200 and "mqtt" not in read.json()
    assert password not in read.text
    assert read.json()["identities"] == [{"codec": "native", "external_id": "NZ-D0001"}]

    again = register(api_client, headers, "NZ-D0001")
    assert again.status_code == 409
    unknown_model = api_client.post(
        "/api/v1/devices", json={"id": "NZ-D0002", "model_code": "nope"}, headers=headers
    )
    assert unknown_model.status_code == 400
    bad_id = register(api_client, headers, "-bad id")
    assert bad_id.status_code == 422


def test_bind_device_and_read_in_household_file(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    headers = api.headers("installer", org=tree.village)
    site_id = make_site(api_client, headers, tree.village)
    register(api_client, headers, "NZ-D0010")

    bound = api_client.put(
        "/api/v1/devices/NZ-D0010/binding",
        json={"site_id": site_id, "room": "卧室", "position": "床头上方吊顶"},
        headers=headers,
    )

    assert bound.status_code == 200, bound.text
    assert bound.json()["site"]["id"] == site_id and bound.json()["status"] == "installed"
    file = api_client.get(f"/api/v1/sites/{site_id}", headers=headers).json()
    assert [(d["id"], d["room"]) for d in file["devices"]] == [("NZ-D0010", "卧室")]
    other_site = make_site(api_client, api.admin_headers(), tree.other_village, "外村")
    elsewhere = api_client.put(
        "/api/v1/devices/NZ-D0010/binding",
        json={"site_id": other_site, "room": "厨房"},
        headers=headers,
    )
    assert elsewhere.status_code == 404


def test_bind_device_bound_elsewhere_needs_confirmed_move(
    api_client: TestClient, api: ApiWorld
) -> None:
    tree = api.tree()
    headers = api.headers("installer", org=tree.village)
    old_site = make_site(api_client, headers, tree.village, "老刘")
    new_site = make_site(api_client, headers, tree.village, "新张")
    register(api_client, headers, "NZ-H0005")
    api_client.put(
        "/api/v1/devices/NZ-H0005/binding", json={"site_id": old_site, "room": "客厅"},
        headers=headers,
    )  # fmt: skip

    silent = api_client.put(
        "/api/v1/devices/NZ-H0005/binding", json={"site_id": new_site, "room": "厨房"},
        headers=headers,
    )  # fmt: skip

    assert silent.status_code == 409, silent.text
    assert silent.json()["error"]["code"] == "bound_elsewhere"
    assert "老刘" in silent.json()["error"]["message"]
    assert api_client.get("/api/v1/devices/NZ-H0005", headers=headers).json()["site_id"] == old_site
    moved = api_client.put(
        "/api/v1/devices/NZ-H0005/binding",
        json={"site_id": new_site, "room": "厨房", "move": True}, headers=headers,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert moved.json()["site_id"] == new_site
    old_file = api_client.get(f"/api/v1/sites/{old_site}", headers=headers).json()
    assert old_file["devices"] == []
    lost = [h for h in old_file["history"] if h["action"] == "device_unbound"]
    assert lost[0]["device_id"] == "NZ-H0005"
    assert lost[0]["detail"]["moved_to_name"] == "新张"
    again = api_client.put(
        "/api/v1/devices/NZ-H0005/binding", json={"site_id": new_site, "room": "卧室"},
        headers=headers,
    )  # fmt: skip
    assert again.status_code == 200, "re-binding at the same site is no move"


def test_list_devices_by_state(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    headers = api.headers("operator", org=tree.village)
    site_id = make_site(api_client, headers, tree.village)
    for device_id in ("NZ-S1", "NZ-S2", "NZ-S3", "NZ-S4"):
        register(api_client, headers, device_id)
        api_client.put(
            f"/api/v1/devices/{device_id}/binding",
            json={"site_id": site_id, "room": "客厅"},
            headers=headers,
        )
    db = api.db
    db.execute(
        "UPDATE device_state SET online = true, last_seen = now(), "
        "offline_deadline = now() + interval '1 hour'"
    )
    db.execute(
        "UPDATE device_state SET online = false, offline_deadline = now() - interval '1 minute' "
        "WHERE device_id = 'NZ-S2'"
    )
    db.execute(
        "UPDATE device_state SET battery_low = true, battery_pct = 12 WHERE device_id = 'NZ-S3'"
    )
    db.execute("UPDATE device_state SET alarm_active = true WHERE device_id = 'NZ-S4'")

    def ids(**params: Any) -> list[str]:
        response = api_client.get("/api/v1/devices", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [d["id"] for d in response.json()["items"]]

    assert ids(state="offline") == ["NZ-S2"]
    assert ids(state="low_battery") == ["NZ-S3"]
    assert ids(state="alarm") == ["NZ-S4"]
    assert ids(state="ok") == ["NZ-S1"]
    assert ids(sort="-battery_pct", limit=1) == ["NZ-S3"]
    healths = {
        d["id"]: d["health"]
        for d in api_client.get("/api/v1/devices", headers=headers).json()["items"]
    }
    assert healths == {"NZ-S1": "ok", "NZ-S2": "offline", "NZ-S3": "low_battery", "NZ-S4": "alarm"}


def test_replace_device_keeps_history_and_place(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    headers = api.headers("installer", org=tree.village)
    site_id = make_site(api_client, headers, tree.village)
    register(api_client, headers, "NZ-OLD")
    api_client.put(
        "/api/v1/devices/NZ-OLD/binding",
        json={"site_id": site_id, "room": "厨房", "position": "灶台外 2 米"},
        headers=headers,
    )
    api.db.execute(
        "INSERT INTO events (device_id, ts, received_at, msg_key, type, priority, site_id) "
        "VALUES ('NZ-OLD', now(), now(), 1, 'fault', 3, %s)",
        (site_id,),
    )

    replaced = api_client.post(
        "/api/v1/devices/NZ-OLD/replace",
        json={"new_id": "NZ-NEW", "model_code": "sw-native-1", "reason": "传感器故障"},
        headers=headers,
    )

    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert body["old"]["status"] == "removed" and body["old"]["replaced_by"] == "NZ-NEW"
    assert body["new"]["replaces"] == "NZ-OLD"
    assert (body["new"]["site_id"], body["new"]["room"], body["new"]["position"]) == (
        site_id, "厨房", "灶台外 2 米",
    )  # fmt: skip
    assert body["new"]["status"] == "installed"
    assert body["mqtt"]["username"] == "NZ-NEW"
    revoked = api.db.execute(
        "SELECT revoked_at FROM device_credentials WHERE device_id = 'NZ-OLD'"
    ).fetchone()
    assert revoked is not None and revoked["revoked_at"] is not None
    events = api.db.execute("SELECT count(*) AS n FROM events WHERE device_id = 'NZ-OLD'")
    assert events.fetchone()["n"] == 1
    file = api_client.get(f"/api/v1/sites/{site_id}", headers=headers).json()
    assert [(d["id"], d["status"]) for d in file["devices"]] == [
        ("NZ-NEW", "installed"), ("NZ-OLD", "removed"),
    ]  # fmt: skip
    actions = [(h["action"], h["device_id"]) for h in file["history"]]
    assert ("device_replaced", "NZ-OLD") in actions and ("device_replaced", "NZ-NEW") in actions


def test_remove_device_revokes_credentials_keeps_history(
    api_client: TestClient, api: ApiWorld
) -> None:
    tree = api.tree()
    installer = api.headers("installer", org=tree.village)
    operator = api.headers("operator", org=tree.village)
    site_id = make_site(api_client, installer, tree.village)
    register(api_client, installer, "NZ-GONE")
    api_client.put(
        "/api/v1/devices/NZ-GONE/binding",
        json={"site_id": site_id, "room": "客厅"},
        headers=installer,
    )

    api.db.execute(
        "UPDATE device_state SET online = true, last_seen = now(), "
        "offline_deadline = now() + interval '1 hour' WHERE device_id = 'NZ-GONE'"
    )
    api.db.execute(
        "INSERT INTO work_orders (device_id, site_id, kind, opened_at, last_event_at) "
        "VALUES ('NZ-GONE', %s, 'low_battery', now(), now())",
        (site_id,),
    )

    assert api_client.delete("/api/v1/devices/NZ-GONE", headers=installer).status_code == 403
    removed = api_client.request(
        "DELETE", "/api/v1/devices/NZ-GONE", json={"reason": "住户搬走"}, headers=operator
    )

    assert removed.status_code == 200, removed.text
    assert removed.json()["status"] == "removed" and removed.json()["removed_at"]
    assert removed.json()["site_id"] == site_id, "the place stays in the history"
    row = api.db.execute(
        "SELECT revoked_at FROM device_credentials WHERE device_id = 'NZ-GONE'"
    ).fetchone()
    assert row is not None and row["revoked_at"] is not None
    state = api.db.execute(
        "SELECT online, offline_deadline FROM device_state WHERE device_id = 'NZ-GONE'"
    ).fetchone()
    assert state == {"online": False, "offline_deadline": None}, "the watchdog leaves it alone"
    order = api.db.execute(
        "SELECT status, closed_reason FROM work_orders WHERE device_id = 'NZ-GONE'"
    ).fetchone()
    assert order == {"status": "closed", "closed_reason": "device_removed"}
    assert api_client.get("/api/v1/devices", headers=operator).json()["total"] == 0
    listed = api_client.get(
        "/api/v1/devices", params={"include_removed": True}, headers=operator
    ).json()
    assert [d["id"] for d in listed["items"]] == ["NZ-GONE"]
    rebind = api_client.put(
        "/api/v1/devices/NZ-GONE/binding", json={"site_id": site_id, "room": "x"}, headers=operator
    )
    assert rebind.status_code == 409
    history = api_client.get(f"/api/v1/sites/{site_id}", headers=operator).json()["history"]
    assert history[0]["action"] == "device_removed"
    assert history[0]["detail"]["reason"] == "住户搬走"


def test_read_device_bound_in_other_village_is_not_found(
    api_client: TestClient, api: ApiWorld
) -> None:
    tree = api.tree()
    admin = api.admin_headers()
    site_id = make_site(api_client, admin, tree.other_village, "西村户")
    register(api_client, admin, "NZ-WEST")
    api_client.put(
        "/api/v1/devices/NZ-WEST/binding", json={"site_id": site_id, "room": "客厅"}, headers=admin
    )
    operator = api.headers("operator", org=tree.village)

    assert api_client.get("/api/v1/devices/NZ-WEST", headers=operator).status_code == 404
    assert api_client.get("/api/v1/devices", headers=operator).json()["total"] == 0
    assert (
        api_client.request("DELETE", "/api/v1/devices/NZ-WEST", headers=operator).status_code == 404
    )
    viewer = api.headers("viewer", org=tree.other_village)
    assert api_client.get("/api/v1/devices/NZ-WEST", headers=viewer).status_code == 200
    assert register(api_client, viewer, "NZ-VIEW").status_code == 403


def test_list_devices_search_wildcards_are_literal(api_client: TestClient, api: ApiWorld) -> None:
    headers = api.headers("administrator")
    for device_id in ("NZ-Q0001", "NZ-Q0002"):
        assert register(api_client, headers, device_id).status_code == 201

    def found(q: str) -> list[str]:
        response = api_client.get("/api/v1/devices", params={"q": q}, headers=headers)
        assert response.status_code == 200, response.text
        return [d["id"] for d in response.json()["items"]]

    assert found("NZ-Q000") == ["NZ-Q0001", "NZ-Q0002"]
    assert found("%") == [] and found("NZ_Q") == [] and found("Q000_") == []


def test_remove_device_other_village_stock_not_found(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    ours = api.headers("operator", org=tree.village)
    theirs = api.headers("operator", org=tree.other_village)
    assert register(api_client, ours, "NZ-S0001").status_code == 201
    stored = api.db.execute("SELECT stock_org_id FROM devices WHERE id = 'NZ-S0001'").fetchone()
    assert stored["stock_org_id"] == tree.village.id

    assert api_client.get("/api/v1/devices/NZ-S0001", headers=theirs).status_code == 404
    assert api_client.delete("/api/v1/devices/NZ-S0001", headers=theirs).status_code == 404
    listed = api_client.get("/api/v1/devices", params={"unbound": True}, headers=theirs).json()
    assert "NZ-S0001" not in [d["id"] for d in listed["items"]]
    assert api_client.get("/api/v1/devices/NZ-S0001", headers=ours).status_code == 200
    assert (
        api_client.get("/api/v1/devices/NZ-S0001", headers=api.admin_headers()).status_code == 200
    )
    status = api.db.execute("SELECT status FROM devices WHERE id = 'NZ-S0001'").fetchone()
    assert status["status"] == "registered"


def test_read_device_shared_stock_seen_by_every_village(
    api_client: TestClient, api: ApiWorld
) -> None:
    tree = api.tree()
    assert register(api_client, api.admin_headers(), "NZ-S0002").status_code == 201
    for org in (tree.village, tree.other_village):
        headers = api.headers("installer", org=org)
        assert api_client.get("/api/v1/devices/NZ-S0002", headers=headers).status_code == 200
