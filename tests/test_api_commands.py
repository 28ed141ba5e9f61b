"""The command API: who may ask for what, what a model cannot take, the relative's silence."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from core.incidents import acknowledge_incident
from tests.support.api import ApiWorld
from tests.support.ops import Homes, Village, raise_alarm
from tests.test_api_relative import alert_token, personal_link


def _alarm(api: ApiWorld, home: Village, *, acknowledged: bool) -> int:
    incident_id = raise_alarm(api.db, home.device_id)
    if acknowledged:
        acknowledge_incident(api.db, incident_id=incident_id, actor="duty operator")
    return incident_id


@pytest.mark.parametrize(
    ("role", "kind", "params", "status"),
    [
        ("installer", "self_test", {}, 201),
        ("installer", "set_heartbeat", {"interval_s": 1800}, 201),
        ("installer", "set_heartbeat", {"interval_s": 5}, 422),
        ("installer", "set_heartbeat", {}, 422),
        ("installer", "reset", {}, 201),
        ("operator", "self_test", {}, 201),
        ("operator", "set_heartbeat", {"interval_s": 1800}, 403),
        ("viewer", "self_test", {}, 403),
        ("installer", "silence", {}, 403),
    ],
)
def test_create_command_roles_and_parameters(
    api_client: TestClient, api: ApiWorld, homes: Homes, *, role: str, kind: str,
    params: dict[str, int], status: int,
) -> None:  # fmt: skip
    answer = api_client.post(
        f"/api/v1/devices/{homes.mine.device_id}/commands",
        json={"kind": kind, "parameters": params},
        headers=api.headers(role),
    )
    assert answer.status_code == status, answer.text
    if status == 201:
        body = answer.json()
        assert body["state"] == "requested" and body["transport"] == "native"
        again = api_client.get(f"/api/v1/commands/{body['id']}", headers=api.headers("viewer"))
        assert again.json()["id"] == body["id"]


def test_create_command_outside_scope_is_404(
    api_client: TestClient, api: ApiWorld, homes: Homes
) -> None:
    answer = api_client.post(
        f"/api/v1/devices/{homes.other.device_id}/commands",
        json={"kind": "self_test"},
        headers=api.headers("installer"),
    )
    assert answer.status_code == 404


def test_model_without_command_support_says_so(
    api_client: TestClient, api: ApiWorld, homes: Homes
) -> None:
    api.db.execute(
        "UPDATE devices SET model_code = 'milesight-gs524n' WHERE id = %s",
        (homes.mine.device_id,),
    )
    headers = api.headers("installer")
    path = f"/api/v1/devices/{homes.mine.device_id}/commands"

    refused = api_client.post(path, json={"kind": "self_test"}, headers=headers)
    support = api_client.get(path, headers=headers).json()

    assert refused.status_code == 409
    assert "documents no downlink" in refused.json()["error"]["message"]
    assert {k["kind"]: k["supported"] for k in support["kinds"]} == {
        "silence": False, "self_test": False, "set_heartbeat": False, "reset": False,
    }  # fmt: skip
    assert support["kinds"][0]["why_not"] == "Milesight documents no downlink for the GS524N"


def test_operator_silence_needs_acknowledged_incident_and_cause(
    api_client: TestClient, api: ApiWorld, homes: Homes
) -> None:
    headers = api.headers("operator")
    path = f"/api/v1/devices/{homes.mine.device_id}/commands"
    incident_id = _alarm(api, homes.mine, acknowledged=False)
    body = {"kind": "silence", "incident_id": incident_id, "suspected_cause": "cooking"}

    early = api_client.post(path, json=body, headers=headers)
    acknowledge_incident(api.db, incident_id=incident_id, actor="duty operator")
    no_cause = api_client.post(path, json={**body, "suspected_cause": None}, headers=headers)
    ok = api_client.post(path, json=body, headers=headers)
    same = api_client.post(path, json=body, headers=headers)
    drawer = api_client.get(f"/api/v1/incidents/{incident_id}/commands", headers=headers)

    assert early.status_code == 409 and "acknowledge" in early.json()["error"]["message"]
    assert no_cause.status_code == 409
    assert ok.status_code == 201 and ok.json()["parameters"] == {"duration_s": 600}
    assert same.status_code == 200 and same.json()["id"] == ok.json()["id"]
    assert [c["id"] for c in drawer.json()["items"]] == [ok.json()["id"]]
    assert drawer.json()["kinds"][0] == {
        "kind": "silence", "supported": True, "rearm_s": 600, "why_not": None,
    }  # fmt: skip
    status = api.db.execute("SELECT status FROM incidents WHERE id = %s", (incident_id,))
    assert status.fetchone()["status"] == "acknowledged"  # type: ignore[index]


def test_operator_silence_of_other_village_incident_is_404(
    api_client: TestClient, api: ApiWorld, homes: Homes
) -> None:
    incident_id = _alarm(api, homes.other, acknowledged=True)
    answer = api_client.post(
        f"/api/v1/devices/{homes.mine.device_id}/commands",
        json={"kind": "silence", "incident_id": incident_id, "suspected_cause": "steam"},
        headers=api.headers("operator"),
    )
    assert answer.status_code == 404


@pytest.mark.parametrize("link", ["alert", "personal"])
def test_relative_silence_needs_acknowledgement_and_confirmation(
    api_client: TestClient, api: ApiWorld, homes: Homes, link: str
) -> None:
    incident_id = _alarm(api, homes.mine, acknowledged=False)
    token = (
        alert_token(incident_id, homes.mine.contacts["family"])
        if link == "alert"
        else personal_link(api, homes.mine)
    )
    path = f"/api/v1/relative/{token}/silence"

    early = api_client.post(path, json={"confirmed": True})
    acknowledge_incident(api.db, incident_id=incident_id, actor="王小明")
    unconfirmed = api_client.post(path, json={"confirmed": False})
    confirmed = api_client.post(path, json={"confirmed": True, "suspected_cause": "cooking"})
    view = api_client.get(f"/api/v1/relative/{token}/commands")

    assert early.status_code == 409
    assert unconfirmed.status_code == 409 and "confirm" in unconfirmed.json()["error"]["message"]
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["requested_role"] == "relative"
    assert confirmed.json()["incident_id"] == incident_id
    assert view.json()["items"][0]["id"] == confirmed.json()["id"]


def test_relative_cannot_silence_other_household(
    api_client: TestClient, api: ApiWorld, homes: Homes
) -> None:
    other_incident = _alarm(api, homes.other, acknowledged=True)
    token = personal_link(api, homes.mine)
    answer = api_client.post(
        f"/api/v1/relative/{token}/silence",
        json={"confirmed": True, "incident_id": other_incident},
    )
    assert answer.status_code == 404
