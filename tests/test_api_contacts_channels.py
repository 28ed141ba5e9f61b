"""Contact channels: person-facing schemes only, no internal destinations, channels and
deactivation for operators and administrators; viewers see only a phone's last two digits."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.contacts.channels import policy_problem
from tests.support.api import ApiWorld

WECOM = "wecombot://abcdef0123456789abcdef0123456789"
SMS = "aliyunsms://LTAIkey:s3cret@13800000002?sign=测试&template=SMS_1"


def new_site(api_client: TestClient, api: ApiWorld) -> dict[str, Any]:
    tree = api.tree()
    site = api_client.post(
        "/api/v1/sites",
        json={"org_id": tree.village.id, "kind": "household", "category": "elderly_alone",
              "name": "王秀英家", "address": "东村3组12号"},
        headers=api.admin_headers(),
    )  # fmt: skip
    assert site.status_code == 201, site.text
    body: dict[str, Any] = site.json()
    return body


@pytest.mark.parametrize(
    "url",
    ["form://127.0.0.1:5432/", "xml://10.0.0.5:8080/admin", "xmls://metadata.internal/x"],
)
def test_create_contact_unlisted_scheme_refused(
    api_client: TestClient, api: ApiWorld, url: str
) -> None:
    site = new_site(api_client, api)
    response = api_client.post(
        "/api/v1/contacts",
        json={"site_id": site["id"], "name": "张伟", "role": "family", "channels": [url]},
        headers=api.admin_headers(),
    )
    assert response.status_code == 400, response.text
    assert "not an allowed channel" in response.text
    stored = api.db.execute("SELECT count(*) AS n FROM contacts WHERE site_id = %s", (site["id"],))
    assert stored.fetchone()["n"] == 0


def test_update_contact_unlisted_scheme_refused(api_client: TestClient, api: ApiWorld) -> None:
    site = new_site(api_client, api)
    operator = api.headers("operator", org=api.tree().village)
    created = api_client.post(
        "/api/v1/contacts",
        json={"site_id": site["id"], "name": "张伟", "role": "family", "channels": [WECOM]},
        headers=operator,
    )
    assert created.status_code == 201, created.text
    response = api_client.patch(
        f"/api/v1/contacts/{created.json()['id']}",
        json={"channels": [*created.json()["channels"], "form://169.254.169.254/latest"]},
        headers=operator,
    )
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "url",
    [
        "json://169.254.169.254/latest/meta-data",
        "json://127.0.0.1:5432/",
        "jsons://localhost/x",
        "json://10.0.0.5:8080/admin",
        "json://192.168.1.1/",
        "json://[::1]:8080/",
        "json://[::ffff:127.0.0.1]/",
        "json://0.0.0.0/",
    ],
)
def test_check_channel_internal_host_refused_outside_development(url: str) -> None:
    # A deployment that adds json:// to its allow-list still cannot aim it inside.
    problem = policy_problem(url, schemes=["json", "jsons"], environment="production")
    assert problem is not None and "private" in problem


def test_check_channel_public_or_person_facing_accepted_in_production() -> None:
    schemes = ["aliyunsms", "wecombot", "json"]
    assert policy_problem(SMS, schemes=schemes, environment="production") is None
    assert policy_problem(WECOM, schemes=schemes, environment="production") is None
    assert (
        policy_problem("json://hooks.example.org/x", schemes=schemes, environment="production")
        is None
    )


def test_check_channel_json_only_in_development_and_test() -> None:
    default = ["aliyunsms", "alivoice", "tencentsms", "wecombot", "dingtalk"]
    url = "json://127.0.0.1:9/inbox"
    assert policy_problem(url, schemes=default, environment="test") is None
    assert policy_problem(url, schemes=default, environment="development") is None
    assert policy_problem(url, schemes=default, environment="production") is not None


def test_update_contact_installer_edits_people_not_channels(
    api_client: TestClient, api: ApiWorld
) -> None:
    site = new_site(api_client, api)
    installer = api.headers("installer", org=api.tree().village)
    refused = api_client.post(
        "/api/v1/contacts",
        json={"site_id": site["id"], "name": "张伟", "role": "family", "channels": [WECOM]},
        headers=installer,
    )
    assert refused.status_code == 403, refused.text
    created = api_client.post(
        "/api/v1/contacts",
        json={"site_id": site["id"], "name": "张伟", "role": "family", "phone": "13800000002"},
        headers=installer,
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/contacts/{created.json()['id']}"
    edited = api_client.patch(
        url, json={"name": "张伟强", "phone": "13800000003", "priority": 2}, headers=installer
    )
    assert edited.status_code == 200, edited.text
    for body in ({"channels": [WECOM]}, {"active": False}):
        assert api_client.patch(url, json=body, headers=installer).status_code == 403
    assert api_client.delete(url, headers=installer).status_code == 403
    stored = api.db.execute("SELECT channels, active FROM contacts WHERE id = %s",
                            (created.json()["id"],)).fetchone()  # fmt: skip
    assert stored["channels"] == [] and stored["active"] is True


def test_read_contact_viewer_sees_last_two_digits(api_client: TestClient, api: ApiWorld) -> None:
    site = new_site(api_client, api)
    created = api_client.post(
        "/api/v1/contacts",
        json={"site_id": site["id"], "name": "张伟", "role": "family", "phone": "13800000002"},
        headers=api.admin_headers(),
    )
    assert created.status_code == 201, created.text
    viewer = api.headers("viewer", org=api.tree().village)
    seen = api_client.get(f"/api/v1/contacts/{created.json()['id']}", headers=viewer).json()
    assert seen["phone"] == "*********02"
