"""The published schema says what the API accepts (issue 15: schemathesis' nits).

Quiet hours are a local time (a pattern, not RFC 3339 ``format: time``); date-times accept
RFC 3339 with an offset and nothing else (no Unix numbers); trimmed text says "not blank" in
its schema (``pattern: \\S``) instead of refusing what the schema allowed.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.support.api import ApiWorld, make_api_settings

SCHEMAS: dict[str, Any] = create_app(
    make_api_settings("postgresql://nobody@127.0.0.1:1/none", "mqtt://127.0.0.1:1")
).openapi()["components"]["schemas"]


def field(model: str, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = SCHEMAS[model]["properties"][name]
    return next((s for s in schema.get("anyOf", []) if s.get("type") != "null"), schema)


@pytest.mark.parametrize("model", ["ContactCreate", "ContactUpdate", "ContactRead"])
def test_quiet_hours_schema_is_a_local_time(model: str) -> None:
    schema = field(model, "quiet_hours_start")
    assert "format" not in schema
    pattern = re.compile(schema["pattern"])
    assert pattern.search("22:00") and pattern.search("07:30:00")
    assert not pattern.search("22:00:00Z") and not pattern.search("24:00")


@pytest.mark.parametrize(
    ("value", "status"),
    [("22:00", 201), ("22:00:00", 201), ("22:00:00Z", 422), ("22:00+08:00", 422),
     ("25:00", 422), (79200, 422)],
)  # fmt: skip
def test_create_contact_quiet_hours_only_as_the_schema_says(
    api_client: TestClient, api: ApiWorld, value: Any, status: int
) -> None:
    tree = api.tree()
    body = {"org_id": tree.village.id, "name": "张伟", "role": "grid_worker",
            "quiet_hours_start": value, "quiet_hours_end": "07:00"}  # fmt: skip
    response = api_client.post("/api/v1/contacts", json=body, headers=api.headers("administrator"))
    assert response.status_code == status, response.text
    if status == 201:
        stored = response.json()["quiet_hours_start"]
        assert re.search(field("ContactRead", "quiet_hours_start")["pattern"], stored)


@pytest.mark.parametrize(
    ("until", "status"),
    [("2026-12-03T08:00:00Z", 200), ("2026-12-03T08:00:00+08:00", 200),
     ("1700000000", 422), ("2026-12-03", 422), ("2026-12-03T08:00:00", 422), ("true", 422)],
)  # fmt: skip
def test_read_events_until_only_rfc3339(
    api_client: TestClient, api: ApiWorld, until: str, status: int
) -> None:
    response = api_client.get("/api/v1/events", params={"until": until},
                              headers=api.headers("administrator"))  # fmt: skip
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    ("expires_at", "status"),
    [("2030-01-01T00:00:00Z", 201), (1900000000, 422), (1900000000.5, 422), ("1900000000", 422),
     (True, 422)],
)  # fmt: skip
def test_create_api_key_expires_at_only_rfc3339(
    api_client: TestClient, api: ApiWorld, expires_at: Any, status: int
) -> None:
    body = {"name": "board", "role": "viewer", "org_id": api.tree().village.id,
            "expires_at": expires_at}
    response = api_client.post("/api/v1/api-keys", json=body, headers=api.headers("administrator"))
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    ("model", "name"),
    [("ContactCreate", "name"), ("SiteCreate", "address"), ("SiteCreate", "name"),
     ("DeviceCreate", "model_code"), ("Identity", "external_id")],
)  # fmt: skip
def test_trimmed_text_schema_says_not_blank(model: str, name: str) -> None:
    schema = field(model, name)
    assert schema.get("minLength") == 1
    assert re.search(schema["pattern"], "   ") is None  # what the API refuses, the schema too
    assert re.search(schema["pattern"], " 东村 ")
