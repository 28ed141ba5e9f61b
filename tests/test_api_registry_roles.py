"""Role matrix of the registry endpoints (sites, contacts, devices, commissioning, roster).

Each row: an endpoint and the roles that may use it (no 401/403, no 5xx); every other staff
role gets 403. Callers
are scoped to the village that holds the site and device (the administrator is unscoped), so a
refusal here is the role's, never the scope's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from device_sim.registration import register_devices
from tests.api_support import ApiWorld

ALL = ("administrator", "operator", "installer", "viewer")
FIELD = ("administrator", "operator", "installer")
MANAGE = ("administrator", "operator")


@dataclass(frozen=True)
class World:
    site_id: int
    contact_id: int
    device_id: str
    session_id: int
    village_id: int


Request = Callable[[World], tuple[str, str, dict[str, Any]]]

ROWS: list[tuple[str, Request, tuple[str, ...]]] = [
    ("list sites", lambda w: ("GET", "/api/v1/sites", {}), ALL),
    ("read site", lambda w: ("GET", f"/api/v1/sites/{w.site_id}", {}), ALL),
    (
        "create site",
        lambda w: (
            "POST",
            "/api/v1/sites",
            {
                "json": {
                    "org_id": w.village_id,
                    "kind": "venue",
                    "category": "shop",
                    "name": "小卖部",
                    "address": "东村1号",
                }
            },
        ),
        FIELD,
    ),
    (
        "update site",
        lambda w: ("PATCH", f"/api/v1/sites/{w.site_id}", {"json": {"notes": "x"}}),
        FIELD,
    ),
    ("archive site", lambda w: ("DELETE", f"/api/v1/sites/{w.site_id}", {}), MANAGE),
    ("list contacts", lambda w: ("GET", "/api/v1/contacts", {}), ALL),
    ("read contact", lambda w: ("GET", f"/api/v1/contacts/{w.contact_id}", {}), ALL),
    (
        "create contact",
        lambda w: (
            "POST",
            "/api/v1/contacts",
            {"json": {"site_id": w.site_id, "name": "邻居", "role": "neighbour"}},
        ),
        FIELD,
    ),
    (
        "update contact",
        lambda w: ("PATCH", f"/api/v1/contacts/{w.contact_id}", {"json": {"priority": 2}}),
        FIELD,
    ),
    ("deactivate contact", lambda w: ("DELETE", f"/api/v1/contacts/{w.contact_id}", {}), FIELD),
    ("list devices", lambda w: ("GET", "/api/v1/devices", {"params": {"state": "offline"}}), ALL),
    ("read device", lambda w: ("GET", f"/api/v1/devices/{w.device_id}", {}), ALL),
    (
        "register device",
        lambda w: (
            "POST",
            "/api/v1/devices",
            {"json": {"id": "NZ-ROLE-NEW", "model_code": "sw-native-1"}},
        ),
        FIELD,
    ),
    (
        "bind device",
        lambda w: (
            "PUT",
            f"/api/v1/devices/{w.device_id}/binding",
            {"json": {"site_id": w.site_id, "room": "客厅"}},
        ),
        FIELD,
    ),
    (
        "replace device",
        lambda w: (
            "POST",
            f"/api/v1/devices/{w.device_id}/replace",
            {"json": {"new_id": "NZ-ROLE-NEW", "model_code": "sw-native-1"}},
        ),
        FIELD,
    ),
    ("remove device", lambda w: ("DELETE", f"/api/v1/devices/{w.device_id}", {}), MANAGE),
    (
        "start commissioning",
        lambda w: (
            "POST",
            f"/api/v1/devices/{w.device_id}/commissioning",
            {"json": {"timeout_s": 30}},
        ),
        FIELD,
    ),
    (
        "read commissioning",
        lambda w: ("GET", f"/api/v1/devices/{w.device_id}/commissioning/{w.session_id}", {}),
        FIELD,
    ),
    (
        "import roster",
        lambda w: (
            "POST",
            "/api/v1/roster/import",
            {
                "files": {"file": ("r.csv", "村/社区,地址\n".encode(), "text/csv")},
                "data": {"dry_run": "true"},
            },
        ),
        MANAGE,
    ),
    ("roster template", lambda w: ("GET", "/api/v1/roster/template.csv", {}), MANAGE),
]


def make_world(client: TestClient, api: ApiWorld) -> World:
    tree = api.tree()
    admin = api.admin_headers()
    site = client.post(
        "/api/v1/sites",
        json={"org_id": tree.village.id, "kind": "household", "category": "dementia",
              "name": "赵家", "address": "东村2号", "resident_name": "赵奶奶"},
        headers=admin,
    ).json()  # fmt: skip
    contact = client.post(
        "/api/v1/contacts",
        json={"site_id": site["id"], "name": "赵军", "role": "family", "phone": "13700000000"},
        headers=admin,
    ).json()
    register_devices(api.db, ["NZ-ROLE"], site_id=site["id"], status="installed")
    session = client.post(
        "/api/v1/devices/NZ-ROLE/commissioning", json={"timeout_s": 60}, headers=admin
    ).json()
    return World(site["id"], contact["id"], "NZ-ROLE", session["id"], tree.village.id)


@pytest.mark.parametrize("role", ALL)
@pytest.mark.parametrize(("name", "request_of", "allowed"), ROWS, ids=[r[0] for r in ROWS])
def test_registry_role_matrix(
    *,
    api_client: TestClient,
    api: ApiWorld,
    role: str,
    name: str,
    request_of: Request,
    allowed: tuple[str, ...],
) -> None:
    world = make_world(api_client, api)
    headers = api.admin_headers() if role == "administrator" else api.headers(role)
    method, url, kwargs = request_of(world)

    response = api_client.request(method, url, headers=headers, **kwargs)

    if role in allowed:
        # Allowed: whatever the outcome (a 409 for archiving a site with a detector is the
        # state's answer), it is not the role's refusal and not a server error.
        assert response.status_code not in (401, 403), (name, role, response.text)
        assert response.status_code < 500, (name, role, response.text)
    else:
        assert response.status_code == 403, (name, role, response.text)
