"""The role matrix: who may call what, as one table (issue 4: each role can do what it should
and nothing more). Every domain adds its rows to ``MATRIX`` (its own section) and, when its
paths need objects, a seed to ``SEEDS``.

A row is ``Case(who, method, path, status, body)``:

- ``who``: ``anonymous``; ``administrator`` (unscoped, the whole system); or a role scoped to
  the standard tree's village (``operator``, ``installer``, ``viewer``); ``role@org`` scopes
  the role elsewhere (``administrator@village``, ``operator@other_village``), org being an
  attribute of tests.support.api.OrgTree.
- ``path`` and string values of ``body`` may name seeds in braces: ``/api/v1/users/{user_in_
  other_village}``. A body value that is exactly ``"{seed}"`` becomes the seed's value itself
  (an int stays an int). Seeds run lazily, only when a row uses them, on that row's database.
- ``status``: the exact status expected. Out of scope is 404 (never 403: no existence leak);
  a role that may never call the route is 403; no credentials is 401.
"""

from __future__ import annotations

import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support import registry_seeds as reg
from tests.support.api import DEFAULT_PASSWORD, ApiModule, ApiWorld

STAFF = ("administrator", "operator", "installer", "viewer")


@dataclass(frozen=True)
class Case:
    """One row of the matrix."""

    who: str
    method: str
    path: str
    status: int
    body: dict[str, Any] | None = field(default=None)

    @property
    def id(self) -> str:
        return f"{self.who}-{self.method}-{self.path}-{self.status}"


# Seeds: name -> function of the test's ApiWorld returning what the braces stand for.
SEEDS: dict[str, Callable[[ApiWorld], Any]] = {
    "city": lambda api: api.tree().city.id,
    "district": lambda api: api.tree().district.id,
    "sub_district": lambda api: api.tree().sub_district.id,
    "village": lambda api: api.tree().village.id,
    "grid": lambda api: api.tree().grid.id,
    "other_village": lambda api: api.tree().other_village.id,
    "other_grid": lambda api: api.tree().other_grid.id,
    "user_in_village": lambda api: api.create_user("viewer", org=api.tree().grid).id,
    "user_in_other_village": lambda api: api.create_user("viewer", org=api.tree().other_village).id,
    "unique": lambda api: uuid.uuid4().hex[:8],
    # api-registry
    "site": reg.site,
    "other_site": reg.other_site,
    "contact": reg.contact,
    "other_contact": reg.other_contact,
    "device": reg.device,
    "other_device": reg.other_device,
    "stock_device": reg.stock_device,
    "session": reg.session,
    # api-ops: a household with an open fire incident and a work order, in each village
    "incident_in_village": lambda api: ops_home(api, "village").incident,
    "incident_in_other_village": lambda api: ops_home(api, "other_village").incident,
    "work_order_in_village": lambda api: ops_home(api, "village").work_order,
    "work_order_in_other_village": lambda api: ops_home(api, "other_village").work_order,
    "device_in_village": lambda api: ops_home(api, "village").device_id,
    "device_in_other_village": lambda api: ops_home(api, "other_village").device_id,
    "grid_worker_in_village": lambda api: ops_home(api, "village").grid_worker,
}


@dataclass(frozen=True)
class OpsHome:
    """What the api-ops seeds made in one village."""

    incident: int
    work_order: int
    device_id: str
    grid_worker: int


def ops_home(api: ApiWorld, org_name: str) -> OpsHome:
    """A household in the tree's ``org_name`` with an open fire incident and a work order."""
    from psycopg.rows import dict_row

    from tests.support.ops import household, raise_alarm

    org = getattr(api.tree(), org_name)
    home = household(api.db.cursor(row_factory=dict_row), org.id, org.path, org.name, org_name)
    incident = raise_alarm(api.db, home.device_id)
    row = api.db.execute(
        "INSERT INTO work_orders (device_id, site_id, kind, opened_at, last_event_at)"
        " SELECT id, site_id, 'low_battery', now(), now() FROM devices WHERE id = %s RETURNING id",
        (home.device_id,),
    ).fetchone()
    assert row is not None
    return OpsHome(incident, int(row["id"]), home.device_id, home.contacts["grid_worker"])


def every(roles: tuple[str, ...], method: str, path: str, status: int, **kw: Any) -> list[Case]:
    """The same expectation for several callers."""
    return [Case(who, method, path, status, **kw) for who in roles]


def new_user_body(org: str) -> dict[str, Any]:
    return {"username": "u-{unique}", "password": DEFAULT_PASSWORD, "role": "viewer", "org_id": org}


# fmt: off
MATRIX: list[Case] = [
    # --- api-base: health, auth, me --------------------------------------------------------
    *every(("anonymous", *STAFF), "GET", "/healthz", 200),
    Case("anonymous", "GET", "/api/v1/me", 401),
    *every(STAFF, "GET", "/api/v1/me", 200),
    *every(STAFF, "POST", "/api/v1/auth/logout", 204),
    Case("anonymous", "POST", "/api/v1/auth/logout", 401),
    Case("anonymous", "PUT", "/api/v1/me/password", 401,
         {"current_password": "x", "new_password": "long enough new one"}),
    # --- api-base: users and API keys (administrators only, inside their scope) -------------
    Case("anonymous", "GET", "/api/v1/users", 401),
    *every(("operator", "installer", "viewer"), "GET", "/api/v1/users", 403),
    *every(("administrator", "administrator@village"), "GET", "/api/v1/users", 200),
    Case("administrator", "GET", "/api/v1/users/{user_in_other_village}", 200),
    Case("administrator@village", "GET", "/api/v1/users/{user_in_other_village}", 404),
    Case("administrator@village", "GET", "/api/v1/users/{user_in_village}", 200),
    Case("operator", "GET", "/api/v1/users/{user_in_village}", 403),
    *every(("operator", "installer", "viewer"), "POST", "/api/v1/users", 403,
           body=new_user_body("{village}")),
    Case("administrator@village", "POST", "/api/v1/users", 201, new_user_body("{grid}")),
    Case("administrator@village", "POST", "/api/v1/users", 400, new_user_body("{other_village}")),
    Case("administrator@village", "DELETE", "/api/v1/users/{user_in_other_village}", 404),
    Case("administrator", "DELETE", "/api/v1/users/{user_in_other_village}", 204),
    *every(("operator", "installer", "viewer"), "GET", "/api/v1/api-keys", 403),
    Case("administrator", "GET", "/api/v1/api-keys", 200),
    Case("operator", "POST", "/api/v1/api-keys", 403,
         {"name": "k", "role": "viewer", "org_id": "{village}"}),
    Case("administrator@village", "POST", "/api/v1/api-keys", 201,
         {"name": "k", "role": "viewer", "org_id": "{grid}"}),
    # --- api-base: organisations and escalation ---------------------------------------------
    Case("anonymous", "GET", "/api/v1/organisations", 401),
    *every(STAFF, "GET", "/api/v1/organisations", 200),
    *every(STAFF, "GET", "/api/v1/organisations/{grid}", 200),
    *every(("operator", "installer", "viewer", "administrator@village"), "GET",
           "/api/v1/organisations/{other_village}", 404),
    *every(("operator", "installer", "viewer"), "POST", "/api/v1/organisations", 403,
           body={"parent_id": "{village}", "level": "grid", "code": "g-{unique}", "name": "g"}),
    Case("administrator@village", "POST", "/api/v1/organisations", 201,
         {"parent_id": "{village}", "level": "grid", "code": "g-{unique}", "name": "g"}),
    *every(("operator", "installer", "viewer"), "PATCH", "/api/v1/organisations/{village}", 403,
           body={"name": "x"}),
    Case("administrator@village", "PATCH", "/api/v1/organisations/{other_village}", 404,
         {"name": "x"}),
    *every(("administrator", "operator"), "GET", "/api/v1/organisations/{village}/escalation", 200),
    *every(("installer", "viewer"), "GET", "/api/v1/organisations/{village}/escalation", 403),
    Case("operator", "GET", "/api/v1/organisations/{other_village}/escalation", 404),
    *every(("operator", "installer", "viewer"), "PUT",
           "/api/v1/organisations/{village}/escalation", 403, body={"max_repages": 2}),
    Case("administrator@village", "PUT", "/api/v1/organisations/{village}/escalation", 200,
         {"max_repages": 2}),
    Case("administrator@village", "PUT", "/api/v1/organisations/{other_village}/escalation", 404,
         {"max_repages": 2}),
    # --- api-registry: sites, contacts, devices, commissioning, roster ----------------------
    Case("anonymous", "GET", "/api/v1/sites", 401),
    *every(STAFF, "GET", "/api/v1/sites", 200),
    *every(STAFF, "GET", "/api/v1/sites/{site}", 200),
    *every(("operator", "installer", "viewer", "administrator@village"), "GET",
           "/api/v1/sites/{other_site}", 404),
    *every(("administrator", "operator", "installer"), "POST", "/api/v1/sites", 201,
           body={"org_id": "{village}", "kind": "venue", "category": "shop", "name": "小卖部",
                 "address": "东村1号"}),
    Case("viewer", "POST", "/api/v1/sites", 403,
         {"org_id": "{village}", "kind": "venue", "category": "shop", "name": "x", "address": "x"}),
    Case("operator", "POST", "/api/v1/sites", 404,
         {"org_id": "{other_village}", "kind": "venue", "category": "shop", "name": "x",
          "address": "x"}),
    *every(("administrator", "operator", "installer"), "PATCH", "/api/v1/sites/{site}", 200,
           body={"notes": "门口有台阶"}),
    Case("viewer", "PATCH", "/api/v1/sites/{site}", 403, {"notes": "x"}),
    Case("operator", "PATCH", "/api/v1/sites/{other_site}", 404, {"notes": "x"}),
    *every(("administrator", "operator"), "DELETE", "/api/v1/sites/{site}", 200),
    *every(("installer", "viewer"), "DELETE", "/api/v1/sites/{site}", 403),
    Case("operator", "DELETE", "/api/v1/sites/{other_site}", 404),
    *every(STAFF, "GET", "/api/v1/contacts", 200),
    *every(STAFF, "GET", "/api/v1/contacts/{contact}", 200),
    *every(("operator", "installer", "viewer"), "GET", "/api/v1/contacts/{other_contact}", 404),
    *every(("administrator", "operator", "installer"), "POST", "/api/v1/contacts", 201,
           body={"site_id": "{site}", "name": "邻居", "role": "neighbour"}),
    Case("viewer", "POST", "/api/v1/contacts", 403,
         {"site_id": "{site}", "name": "x", "role": "neighbour"}),
    Case("installer", "POST", "/api/v1/contacts", 404,
         {"site_id": "{other_site}", "name": "x", "role": "neighbour"}),
    *every(("administrator", "operator", "installer"), "PATCH", "/api/v1/contacts/{contact}",
           200, body={"priority": 2}),
    Case("viewer", "PATCH", "/api/v1/contacts/{contact}", 403, {"priority": 2}),
    *every(("administrator", "operator"), "PATCH", "/api/v1/contacts/{contact}", 200,
           body={"channels": ["wecombot://abcdef0123456789abcdef0123456789"]}),
    *every(("installer", "viewer"), "PATCH", "/api/v1/contacts/{contact}", 403,
           body={"channels": ["wecombot://abcdef0123456789abcdef0123456789"]}),
    Case("installer", "PATCH", "/api/v1/contacts/{contact}", 403, {"active": False}),
    *every(("administrator", "operator"), "DELETE", "/api/v1/contacts/{contact}", 200),
    *every(("installer", "viewer"), "DELETE", "/api/v1/contacts/{contact}", 403),
    *every(STAFF, "GET", "/api/v1/devices?state=offline", 200),
    *every(STAFF, "GET", "/api/v1/devices/{device}", 200),
    *every(STAFF, "GET", "/api/v1/devices/{stock_device}", 200),
    *every(("operator", "installer", "viewer"), "GET", "/api/v1/devices/{other_device}", 404),
    *every(("administrator", "operator", "installer"), "POST", "/api/v1/devices", 201,
           body={"id": "NZ-{unique}", "model_code": "sw-native-1"}),
    Case("viewer", "POST", "/api/v1/devices", 403,
         {"id": "NZ-{unique}", "model_code": "sw-native-1"}),
    *every(("administrator", "operator", "installer"), "PUT",
           "/api/v1/devices/{stock_device}/binding", 200,
           body={"site_id": "{site}", "room": "客厅"}),
    Case("viewer", "PUT", "/api/v1/devices/{stock_device}/binding", 403,
         {"site_id": "{site}", "room": "客厅"}),
    Case("installer", "PUT", "/api/v1/devices/{stock_device}/binding", 404,
         {"site_id": "{other_site}", "room": "客厅"}),
    *every(("administrator", "operator", "installer"), "POST", "/api/v1/devices/{device}/replace",
           200, body={"new_id": "NZ-{unique}", "model_code": "sw-native-1"}),
    Case("viewer", "POST", "/api/v1/devices/{device}/replace", 403,
         {"new_id": "NZ-{unique}", "model_code": "sw-native-1"}),
    *every(("administrator", "operator"), "DELETE", "/api/v1/devices/{device}", 200),
    *every(("installer", "viewer"), "DELETE", "/api/v1/devices/{device}", 403),
    Case("operator", "DELETE", "/api/v1/devices/{other_device}", 404),
    *every(("administrator", "operator", "installer"), "POST",
           "/api/v1/devices/{device}/commissioning", 201),
    Case("viewer", "POST", "/api/v1/devices/{device}/commissioning", 403),
    Case("installer", "POST", "/api/v1/devices/{other_device}/commissioning", 404),
    *every(("administrator", "operator", "installer"), "GET", "/api/v1/devices/{session}", 200),
    Case("viewer", "GET", "/api/v1/devices/{session}", 403),
    *every(("administrator", "operator"), "GET", "/api/v1/roster/template.csv", 200),
    *every(("installer", "viewer"), "GET", "/api/v1/roster/template.csv", 403),
    *every(("installer", "viewer"), "POST", "/api/v1/roster/import", 403),
    # --- device health (issue 7): figures of the watchdog, read in scope ---------------------
    *every(STAFF, "GET", "/api/v1/health/villages", 200),
    *every(STAFF, "GET", "/api/v1/health/flags", 200),
    *every(STAFF, "GET", "/api/v1/health/outages", 200),
    Case("anonymous", "GET", "/api/v1/health/villages", 401),
    Case("operator", "GET", "/api/v1/health/villages?org_id={other_village}", 404),
    Case("operator", "GET", "/api/v1/health/flags?org_id={other_village}", 404),
    *every(STAFF, "GET", "/api/v1/health/devices/{device}/battery", 200),
    Case("viewer", "GET", "/api/v1/health/devices/{other_device}/battery", 404),
    # --- api-ops: incidents, work orders, events, readings, summary, live, relative ---------
    *every(("anonymous",), "GET", "/api/v1/incidents", 401),
    *every(("administrator", "operator", "viewer"), "GET", "/api/v1/incidents", 200),
    Case("installer", "GET", "/api/v1/incidents", 403),
    *every(("administrator", "operator", "viewer"), "GET",
           "/api/v1/incidents/{incident_in_village}", 200),
    *every(("operator", "viewer", "administrator@village"), "GET",
           "/api/v1/incidents/{incident_in_other_village}", 404),
    *every(("viewer", "installer"), "POST", "/api/v1/incidents/{incident_in_village}/acknowledge",
           403, body={}),
    Case("operator", "POST", "/api/v1/incidents/{incident_in_other_village}/acknowledge", 404, {}),
    Case("operator", "POST", "/api/v1/incidents/{incident_in_village}/note", 200, {"note": "n"}),
    Case("operator", "POST", "/api/v1/incidents/{incident_in_village}/assign", 200,
         {"contact_id": "{grid_worker_in_village}"}),
    Case("operator@other_village", "POST", "/api/v1/incidents/{incident_in_village}/assign", 404,
         {"contact_id": "{grid_worker_in_village}"}),
    Case("viewer", "POST", "/api/v1/incidents/{incident_in_village}/resolve", 403,
         {"outcome": "test"}),
    Case("operator@other_village", "POST", "/api/v1/incidents/{incident_in_village}/resolve", 404,
         {"outcome": "test"}),
    *every(("administrator", "operator", "viewer"), "GET", "/api/v1/work-orders", 200),
    Case("installer", "GET", "/api/v1/work-orders", 403),
    Case("operator", "GET", "/api/v1/work-orders/{work_order_in_other_village}", 404),
    Case("viewer", "POST", "/api/v1/work-orders/{work_order_in_village}/close", 403,
         {"reason": "r"}),
    Case("operator", "POST", "/api/v1/work-orders/{work_order_in_other_village}/close", 404,
         {"reason": "r"}),
    Case("operator", "POST", "/api/v1/work-orders/{work_order_in_village}/assign", 200,
         {"contact_id": "{grid_worker_in_village}"}),
    *every(STAFF, "GET", "/api/v1/events", 200),
    Case("anonymous", "GET", "/api/v1/events", 401),
    *every(STAFF, "GET", "/api/v1/devices/{device_in_village}/status", 200),
    *every(STAFF, "GET", "/api/v1/devices/{device_in_village}/readings", 200),
    *every(("operator", "installer", "viewer"), "GET",
           "/api/v1/devices/{device_in_other_village}/readings", 404),
    Case("administrator", "GET", "/api/v1/devices/{device_in_other_village}/status", 200),
    # A display session is opened with a key, never with a login (test_api_display.py).
    Case("anonymous", "POST", "/api/v1/auth/display", 401, body={"api_key": "swk_no.such-key"}),
    *every(("administrator", "operator", "viewer"), "GET", "/api/v1/handovers", 200),
    Case("installer", "GET", "/api/v1/handovers", 403),
    Case("anonymous", "GET", "/api/v1/handovers", 401),
    *every(("administrator", "operator"), "POST", "/api/v1/handovers", 201,
           body={"note": "交班：3 号村离线设备待回访"}),
    *every(("viewer", "installer"), "POST", "/api/v1/handovers", 403, body={"note": "x"}),
    *every(STAFF, "GET", "/api/v1/summary/dashboard", 200),
    *every(STAFF, "GET", "/api/v1/summary/villages", 200),
    *every(STAFF, "GET", "/api/v1/map/sites", 200),
    *every(STAFF, "GET", "/api/v1/summary/board", 200),
    Case("anonymous", "GET", "/api/v1/summary/board", 401),
    *every(STAFF, "GET", "/api/v1/summary/monthly?month=2026-12&format=csv", 200),
    Case("anonymous", "GET", "/api/v1/summary/monthly?month=2026-12", 401),
    Case("anonymous", "GET", "/api/v1/summary/dashboard", 401),
    Case("anonymous", "GET", "/api/v1/live", 401),
    Case("installer", "GET", "/api/v1/live", 403),
    Case("anonymous", "GET", "/api/v1/relative/not-a-link", 404),
    Case("anonymous", "POST", "/api/v1/relative/not-a-link/acknowledge", 404),
    # --- device commands (issue 19): staff in scope; the rules refine by kind ----------------
    *every(STAFF, "GET", "/api/v1/devices/{device_in_village}/commands", 200),
    Case("anonymous", "GET", "/api/v1/devices/{device_in_village}/commands", 401),
    *every(("operator", "installer", "viewer"), "GET",
           "/api/v1/devices/{device_in_other_village}/commands", 404),
    *every(("administrator", "operator", "installer"), "POST",
           "/api/v1/devices/{device_in_village}/commands", 201, body={"kind": "self_test"}),
    Case("viewer", "POST", "/api/v1/devices/{device_in_village}/commands", 403,
         {"kind": "self_test"}),
    Case("installer", "POST", "/api/v1/devices/{device_in_other_village}/commands", 404,
         {"kind": "self_test"}),
    *every(("administrator", "operator", "viewer"), "GET",
           "/api/v1/incidents/{incident_in_village}/commands", 200),
    Case("operator", "GET", "/api/v1/incidents/{incident_in_other_village}/commands", 404),
    Case("anonymous", "GET", "/api/v1/relative/not-a-link/commands", 404),
    Case("anonymous", "POST", "/api/v1/relative/not-a-link/silence", 404, {"confirmed": True}),
    # --- pages -------------------------------------------------------------------------------
    # The shells hold no data (their scripts call the API above with the caller's credentials).
    *every(("anonymous", "viewer"), "GET", "/ui/board", 200),
    *every(("anonymous", "installer"), "GET", "/ui/install", 200),
    Case("anonymous", "GET", "/ui/login", 200),
    Case("anonymous", "GET", "/ui/relative/not-a-link", 200),
    Case("anonymous", "GET", "/ui/config.json", 200),
    Case("anonymous", "GET", "/ui/static/js/i18n.js", 200),
    Case("anonymous", "GET", "/ui/catalogue.js", 200),  # the words i18n.js imports
    Case("anonymous", "GET", "/ui/static/js/missing.js", 404),
]
# fmt: on


class _Seeds(dict[str, Any]):
    """Computes a seed the first time a row names it."""

    def __init__(self, api: ApiWorld) -> None:
        super().__init__()
        self.api = api

    def __missing__(self, name: str) -> Any:
        if name not in SEEDS:
            raise KeyError(f"no seed named {name!r}: add it to SEEDS")
        self[name] = SEEDS[name](self.api)
        return self[name]


def _fill(value: Any, seeds: _Seeds) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, seeds) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, seeds) for v in value]
    if isinstance(value, str):
        names = [n for _, n, _, _ in string.Formatter().parse(value) if n]
        if len(names) == 1 and value == "{" + names[0] + "}":
            return seeds[names[0]]
        return value.format_map(seeds)
    return value


def caller_headers(api: ApiWorld, who: str) -> dict[str, str]:
    """Headers of a new caller described by ``who`` (see the module docstring)."""
    if who == "anonymous":
        return {}
    role, _, org_name = who.partition("@")
    if role == "administrator" and not org_name:
        return api.admin_headers()
    org = getattr(api.tree(), org_name or "village")
    return api.headers(role, org=org)


@pytest.mark.parametrize("case", MATRIX, ids=lambda c: c.id)
def test_call_route_as_role_matrix(case: Case, api_module: ApiModule) -> None:
    """Rows share one database (api_module): each makes its own callers and seeds."""
    api_client, api = api_module.client, api_module.api
    seeds = _Seeds(api)
    path = _fill(case.path, seeds)
    body = _fill(case.body, seeds) if case.body is not None else None
    headers = caller_headers(api, case.who)
    api_client.cookies.clear()
    response = api_client.request(case.method, path, json=body, headers=headers)
    assert response.status_code == case.status, f"{case.who} {case.method} {path}: {response.text}"
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}
