"""Device health through the API: per-village figures, flags, outages, battery forecasts,
each cut to the caller's part of the hierarchy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from core.factory import create_device, create_site
from tests.support.api import ApiWorld, Org

HEALTH = "/api/v1/health"


def add_site_with_device(api: ApiWorld, org: Org, device_id: str) -> int:
    site = create_site(api.db, org_id=org.id, name=f"户 {device_id}", address=f"{org.name} 1 号")
    create_device(api.db, device_id=device_id, site_id=site, room="卧室", status="in_service")
    return site


def seed(api: ApiWorld) -> dict[str, int]:
    tree = api.tree()
    now = datetime.now(UTC)
    east = add_site_with_device(api, tree.village, "E-1")
    add_site_with_device(api, tree.village, "E-2")
    west = add_site_with_device(api, tree.other_village, "W-1")
    api.db.execute(
        "UPDATE device_state SET online = device_id <> 'E-2', last_seen = %s, "
        "offline_deadline = %s + liveness, battery_low = device_id = 'E-1'",
        (now, now),
    )
    api.db.execute("SELECT sw_refresh_village_health()")
    for device_id in ("E-1", "W-1"):
        api.db.execute(
            "INSERT INTO health_flags (kind, subject, device_id, status, flagged_at, updated_at, "
            "count, max_count) VALUES ('flapping_connection', %s, %s, 'open', %s, %s, 7, 7)",
            (device_id, device_id, now, now),
        )
    for scope, key, org_id in (("village", "west", tree.other_village.id),
                               ("village", "east", tree.village.id),
                               ("ingest", "ingest", None)):  # fmt: skip
        outage = api.db.execute(
            "INSERT INTO outages (scope, scope_key, org_id, opened_at, device_count) "
            "VALUES (%s, %s, %s, %s, 1) RETURNING id",
            (scope, key, org_id, now),
        ).fetchone()
        assert outage is not None
        device = {"west": "W-1", "east": "E-2", "ingest": "E-1"}[key]
        api.db.execute(
            "INSERT INTO outage_devices (outage_id, device_id, silent_at) VALUES (%s, %s, %s)",
            (outage["id"], device, now),
        )
    # Ten days of a battery falling 1 % a day from 60 % to 51 % now: 31 more days to 20 %.
    for day in range(10):
        api.db.execute(
            "INSERT INTO readings (device_id, ts, received_at, msg_key, battery_pct) "
            "VALUES ('E-1', %s, %s, %s, %s)",
            (now - timedelta(days=9 - day), now, day, 60.0 - day),
        )
    return {"east": east, "west": west}


def test_read_village_health_scoped_to_the_callers_village(
    api_client: TestClient, api: ApiWorld
) -> None:
    seed(api)
    tree = api.tree()
    operator = api.headers("operator", org=tree.village)
    rows = api_client.get(f"{HEALTH}/villages", headers=operator)
    assert rows.status_code == 200, rows.text
    [east] = rows.json()
    assert east["org_id"] == tree.village.id
    assert (east["devices"], east["online"], east["offline"], east["low_battery"]) == (2, 1, 1, 1)
    assert east["online_rate"] == 0.5
    everything = api_client.get(f"{HEALTH}/villages", headers=api.admin_headers()).json()
    assert {r["org_id"] for r in everything} >= {tree.village.id, tree.other_village.id}


def test_read_village_health_other_village_is_404(api_client: TestClient, api: ApiWorld) -> None:
    seed(api)
    tree = api.tree()
    operator = api.headers("operator", org=tree.village)
    response = api_client.get(
        f"{HEALTH}/villages", params={"org_id": tree.other_village.id}, headers=operator
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_read_flags_and_outages_only_in_scope(api_client: TestClient, api: ApiWorld) -> None:
    seed(api)
    viewer = api.headers("viewer", org=api.tree().village)
    flags = api_client.get(f"{HEALTH}/flags", headers=viewer).json()
    assert [f["device_id"] for f in flags] == ["E-1"]
    listed = api_client.get(f"{HEALTH}/outages", headers=viewer).json()
    outages = {o["scope_key"]: o for o in listed}
    assert set(outages) == {"east", "ingest"}
    assert outages["east"]["devices"] == ["E-2"]
    assert outages["ingest"]["devices"] == []  # system-wide: counted, not listed
    admin = {o["scope_key"]: o for o in api_client.get(
        f"{HEALTH}/outages", headers=api.admin_headers()).json()}  # fmt: skip
    assert set(admin) == {"east", "west", "ingest"} and admin["ingest"]["devices"] == ["E-1"]


def test_read_battery_forecast_predicts_replacement(api_client: TestClient, api: ApiWorld) -> None:
    seed(api)
    operator = api.headers("operator", org=api.tree().village)
    forecast = api_client.get(f"{HEALTH}/devices/E-1/battery", headers=operator)
    assert forecast.status_code == 200, forecast.text
    body = forecast.json()
    assert body["basis"] == "pct" and body["samples"] == 10
    assert abs(body["pct_per_day"] + 1.0) < 1e-6
    days = (datetime.fromisoformat(body["replace_by"]) - datetime.now(UTC)).days
    assert 30 <= days <= 31
    assert api_client.get(f"{HEALTH}/devices/W-1/battery", headers=operator).status_code == 404
    assert api_client.get(f"{HEALTH}/devices/E-2/battery", headers=operator).json()["samples"] == 0


def test_read_health_needs_a_staff_login(api_client: TestClient, api: ApiWorld) -> None:
    assert api_client.get(f"{HEALTH}/villages").status_code == 401
