"""Incidents and work orders through the HTTP API: filters, scope 404, lifecycle, timeline."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.api import ApiWorld
from tests.support.ops import Homes, page, raise_alarm


def test_read_incidents_operator_sees_only_own_village(
    api_client: TestClient, api: ApiWorld, homes: Homes
) -> None:
    mine = raise_alarm(api.db, homes.mine.device_id)
    raise_alarm(api.db, homes.other.device_id)

    answer = api_client.get("/api/v1/incidents?status=open", headers=api.headers("operator"))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 1 and [i["id"] for i in body["items"]] == [mine]
    item = body["items"][0]
    assert item["device"] == {"id": homes.mine.device_id, "room": "厨房", "position": "吊顶"}
    assert item["site"]["resident_situation"] == ["独居", "行动不便"]
    assert item["village"] == {"id": api.tree().village.id, "name": "东村"}
    assert item["paged"] == [] and item["answered_by"] is None
    admin = api_client.get("/api/v1/incidents", headers=api.admin_headers()).json()
    assert admin["total"] == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=open", ["tamper", "fire"]),
        ("status=resolved", ["old"]),
        ("kind=tamper", ["tamper"]),
        ("status=triggered&kind=fire", ["fire"]),
        ("sort=opened_at", ["old", "fire", "tamper"]),
        ("limit=1&offset=1", ["fire"]),
    ],
)
def test_read_incidents_filters_select_expected(
    api_client: TestClient, api: ApiWorld, homes: Homes, query: str, expected: list[str]
) -> None:
    admin = api.admin_headers()
    ids = {"old": raise_alarm(api.db, homes.mine.device_id)}
    resolved = api_client.post(
        f"/api/v1/incidents/{ids['old']}/resolve", json={"outcome": "test"}, headers=admin
    )
    assert resolved.status_code == 200, resolved.text
    ids["fire"] = raise_alarm(api.db, homes.mine.device_id)
    ids["tamper"] = raise_alarm(api.db, homes.mine.device_id, event_type="tamper", kind="tamper")
    names = {v: k for k, v in ids.items()}

    body = api_client.get(f"/api/v1/incidents?{query}", headers=admin).json()

    assert [names[i["id"]] for i in body["items"]] == expected


def test_read_incidents_bad_filter_is_422_with_field(api_client: TestClient, api: ApiWorld) -> None:
    answer = api_client.get("/api/v1/incidents?status=burning", headers=api.admin_headers())

    assert answer.status_code == 422
    assert answer.json()["error"]["fields"][0]["field"] == "query.status"


def test_read_incident_outside_scope_is_404(
    api_client: TestClient, api: ApiWorld, homes: Homes
) -> None:
    other = raise_alarm(api.db, homes.other.device_id)
    operator = api.headers("operator")

    for method, path, body in [
        ("GET", f"/api/v1/incidents/{other}", None),
        ("POST", f"/api/v1/incidents/{other}/acknowledge", {}),
        ("POST", f"/api/v1/incidents/{other}/resolve", {"outcome": "test"}),
        ("POST", f"/api/v1/incidents/{other}/note", {"note": "x"}),
        ("GET", "/api/v1/incidents/999999", None),
    ]:
        answer = api_client.request(method, path, json=body, headers=operator)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["error"]["code"] == "not_found"
    state = api.db.execute("SELECT status FROM incidents WHERE id = %s", (other,)).fetchone()
    assert state is not None and state["status"] == "triggered"


def test_incident_lifecycle_through_api_fills_timeline(
    api_client: TestClient, api: ApiWorld, homes: Homes
) -> None:
    incident = raise_alarm(api.db, homes.mine.device_id)
    page(api.db, incident, homes.mine.contacts["resident"])
    # Providers echo the destination in their answer: the API shows only its last digits.
    page(api.db, incident, homes.mine.contacts["family"], outcome="failed",
         response='HTTP 500 {"PhoneNumber": "+8613800000002"}')  # fmt: skip
    user = api.create_user("operator", name="值班员李")
    base = f"/api/v1/incidents/{incident}"

    acked = api_client.post(f"{base}/acknowledge", json={"note": "已联系"}, headers=user.headers)
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["answered_by"] == "值班员李"
    assigned = api_client.post(
        f"{base}/assign", json={"contact_id": homes.mine.contacts["grid_worker"]},
        headers=user.headers,
    )  # fmt: skip
    assert assigned.json()["assigned_to"] == {
        "id": homes.mine.contacts["grid_worker"],
        "name": "孙网格e",
    }
    noted = api_client.post(f"{base}/note", json={"note": "网格员已到场"}, headers=user.headers)
    assert noted.json()["note"] == "网格员已到场"
    missing_cause = api_client.post(
        f"{base}/resolve", json={"outcome": "false_alarm"}, headers=user.headers
    )
    assert missing_cause.status_code == 422
    resolved = api_client.post(
        f"{base}/resolve", json={"outcome": "false_alarm", "false_alarm_cause": "cooking"},
        headers=user.headers,
    )  # fmt: skip
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["outcome"]) == ("resolved", "false_alarm")
    again = api_client.post(f"{base}/acknowledge", json={}, headers=user.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"

    detail = api_client.get(base, headers=user.headers).json()
    assert [t["action"] for t in detail["timeline"]] == [
        "opened",
        "acknowledged",
        "note",
        "assigned",
        "note",
        "resolved",
    ]
    assert detail["timeline"][0]["detail"]["event"]["type"] == "alarm"
    assert detail["timeline"][-1]["detail"]["cause"] == "cooking"
    assert {(a["contact"], a["ok"], a["answer"]) for a in detail["attempts"]} == {
        ("王e", True, '{"errcode": 0}'),
        ("王小e", False, 'HTTP 500 {"PhoneNumber": "**********0002"}'),
    }
    assert [(p["name"], p["status"]) for p in detail["paged"]] == [
        ("王e", "delivered"),
        ("王小e", "failed"),
    ]


@pytest.mark.parametrize(
    "expected",
    [
        ("administrator", 200, 200),
        ("operator", 200, 200),
        ("viewer", 200, 403),
        ("installer", 403, 403),
    ],
)
def test_incident_roles_read_and_act_as_allowed(
    api_client: TestClient, api: ApiWorld, homes: Homes, expected: tuple[str, int, int]
) -> None:
    role, read, act = expected
    incident = raise_alarm(api.db, homes.mine.device_id)
    headers = api.headers(role, org=api.tree().village)

    assert api_client.get(f"/api/v1/incidents/{incident}", headers=headers).status_code == read
    acked = api_client.post(f"/api/v1/incidents/{incident}/acknowledge", json={}, headers=headers)
    assert acked.status_code == act


def test_assign_incident_to_other_village_contact_is_404(
    api_client: TestClient, api: ApiWorld, homes: Homes
) -> None:
    incident = raise_alarm(api.db, homes.mine.device_id)

    answer = api_client.post(
        f"/api/v1/incidents/{incident}/assign",
        json={"contact_id": homes.other.contacts["grid_worker"]},
        headers=api.headers("operator"),
    )

    assert answer.status_code == 404


def _work_order(api: ApiWorld, device_id: str, kind: str = "low_battery") -> int:
    row = api.db.execute(
        "INSERT INTO work_orders (device_id, site_id, kind, opened_at, last_event_at)"
        " SELECT id, site_id, %s, now(), now() FROM devices WHERE id = %s RETURNING id",
        (kind, device_id),
    ).fetchone()
    assert row is not None
    return int(row["id"])


def test_work_orders_filter_close_and_assign(
    api_client: TestClient, api: ApiWorld, homes: Homes
) -> None:
    battery = _work_order(api, homes.mine.device_id)
    _work_order(api, homes.mine.device_id, kind="offline")
    other = _work_order(api, homes.other.device_id)
    operator = api.headers("operator")

    listed = api_client.get("/api/v1/work-orders?status=open&kind=low_battery", headers=operator)
    assert [w["id"] for w in listed.json()["items"]] == [battery]
    assert listed.json()["items"][0]["site"]["address"] == "东村一组e号"
    assert api_client.get(f"/api/v1/work-orders/{other}", headers=operator).status_code == 404
    assigned = api_client.post(
        f"/api/v1/work-orders/{battery}/assign",
        json={"contact_id": homes.mine.contacts["grid_worker"]}, headers=operator,
    )  # fmt: skip
    assert assigned.json()["assigned_to"]["name"] == "孙网格e"
    closed = api_client.post(
        f"/api/v1/work-orders/{battery}/close", json={"reason": "换了电池"}, headers=operator
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["closed_reason"]) == ("closed", "换了电池")
    twice = api_client.post(
        f"/api/v1/work-orders/{battery}/close", json={"reason": "again"}, headers=operator
    )
    assert twice.status_code == 409
    open_left = api_client.get("/api/v1/work-orders?status=open", headers=operator).json()
    assert open_left["total"] == 1
