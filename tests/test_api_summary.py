"""Dashboard, village summary, map, events and readings through the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from api.summary.schemas import DashboardRead, MapSite, VillageRead
from tests.support.api import ApiWorld
from tests.support.ops import Village, household, raise_alarm


@pytest.fixture
def east(api: ApiWorld) -> list[Village]:
    """Three households in the fixtures' village: one alarming, one offline, one never fitted."""
    tree = api.tree()
    cur = api.db.cursor(row_factory=dict_row)
    homes = [household(cur, tree.grid.id, tree.grid.path, "东村", tag) for tag in "abc"]
    cur.execute(
        "UPDATE device_state SET online = true, offline_deadline = now() + interval '1 hour',"
        " battery_low = (device_id = %s), alarm_active = (device_id = %s)"
        " WHERE device_id = ANY(%s)",
        (homes[0].device_id, homes[0].device_id, [homes[0].device_id, homes[2].device_id]),
    )
    cur.execute("UPDATE devices SET status = 'registered' WHERE id = %s", (homes[2].device_id,))
    return homes


def test_read_dashboard_counts_health_and_live_incidents(
    api_client: TestClient, api: ApiWorld, east: list[Village]
) -> None:
    tree = api.tree()
    west = household(
        api.db.cursor(row_factory=dict_row),
        tree.other_village.id,
        tree.other_village.path,
        "西村",
        "w",
    )
    fire = raise_alarm(api.db, east[0].device_id)
    raise_alarm(api.db, west.device_id)
    old = raise_alarm(api.db, east[1].device_id, at=datetime.now(UTC) - timedelta(days=2))
    admin = api.admin_headers()
    api_client.post(
        f"/api/v1/incidents/{old}/resolve", json={"outcome": "real_fire"}, headers=admin
    )
    api.db.execute("SELECT sw_refresh_village_health()")

    body = api_client.get("/api/v1/summary/dashboard", headers=api.headers("viewer")).json()
    DashboardRead.model_validate(body)  # the JSON built in SQL has the documented shape

    assert (body["devices"], body["online"], body["offline"]) == (3, 1, 1)
    assert body["low_battery"] == 1
    assert body["open_incidents"] == 1  # the west village's is out of scope
    assert sum(d["count"] for d in body["alarms_by_day"]) == 2
    assert body["alarms_by_village"] == [{"org_id": tree.village.id, "name": "东村", "count": 2}]
    assert body["fires_caught_early"] == 1
    assert body["false_alarm_rate"] == 0.0
    assert body["as_of"] is not None
    everything = api_client.get("/api/v1/summary/dashboard", headers=admin).json()
    assert everything["open_incidents"] == 2 and everything["devices"] == 4
    assert fire


def test_read_village_summaries_in_scope(
    api_client: TestClient, api: ApiWorld, east: list[Village]
) -> None:
    tree = api.tree()
    raise_alarm(api.db, east[0].device_id)
    api.db.execute("SELECT sw_refresh_village_health()")

    rows = api_client.get("/api/v1/summary/villages", headers=api.headers("operator")).json()
    everything = api_client.get(
        f"/api/v1/summary/villages?org_id={tree.sub_district.id}", headers=api.admin_headers()
    ).json()

    assert [r["org_id"] for r in rows] == [tree.village.id]
    VillageRead.model_validate(rows[0])
    row = rows[0]
    assert (row["sites"], row["devices"], row["in_service"], row["open_incidents"]) == (3, 3, 2, 1)
    assert row["installed_pct"] == pytest.approx(66.7)
    assert row["online_rate"] == pytest.approx(0.5)
    assert {r["org_id"] for r in everything} == {tree.village.id, tree.other_village.id}


def test_read_map_sites_states(api_client: TestClient, api: ApiWorld, east: list[Village]) -> None:
    body = api_client.get("/api/v1/map/sites", headers=api.headers("operator")).json()
    assert all(MapSite.model_validate(r) for r in body)

    assert {r["site_id"]: r["state"] for r in body} == {
        east[0].site_id: "alarm",
        east[1].site_id: "offline",
        east[2].site_id: "no_device",
    }


def test_read_events_by_device_and_type(
    api_client: TestClient, api: ApiWorld, east: list[Village]
) -> None:
    raise_alarm(api.db, east[0].device_id)
    raise_alarm(api.db, east[0].device_id, event_type="tamper", kind="tamper")
    raise_alarm(api.db, east[1].device_id)
    operator = api.headers("operator")

    by_device = api_client.get(f"/api/v1/events?device_id={east[0].device_id}", headers=operator)
    by_type = api_client.get("/api/v1/events?type=tamper", headers=operator).json()
    outside = api_client.get(
        "/api/v1/events", headers=api.headers("operator", org=api.tree().other_village)
    ).json()

    assert [e["type"] for e in by_device.json()["items"]] == ["tamper", "alarm"]
    assert by_type["total"] == 1 and by_type["total_capped"] is False
    assert outside["total"] == 0


def test_read_readings_raw_and_bucketed(
    api_client: TestClient, api: ApiWorld, east: list[Village]
) -> None:
    device = east[0].device_id
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    with api.db.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (device_id, ts, received_at, msg_key, temperature_c)"
            " VALUES (%s, %s, %s, %s, %s)",
            [(device, start + timedelta(minutes=10 * n), start, n, 20.0 + n) for n in range(18)],
        )
    operator = api.headers("operator")

    raw = api_client.get(f"/api/v1/devices/{device}/readings", headers=operator)
    hourly = api_client.get(
        f"/api/v1/devices/{device}/readings",
        params={"bucket": "1h", "since": start.isoformat(),
                "until": (start + timedelta(hours=3)).isoformat()},
        headers=operator,
    )  # fmt: skip
    status = api_client.get(f"/api/v1/devices/{device}/status", headers=operator)
    hidden = api_client.get(
        f"/api/v1/devices/{device}/readings",
        headers=api.headers("operator", org=api.tree().other_village),
    )
    too_fine = api_client.get(
        f"/api/v1/devices/{device}/readings",
        params={"bucket": "1m", "since": (start - timedelta(days=30)).isoformat()},
        headers=operator,
    )  # fmt: skip

    assert raw.status_code == 200, raw.text
    assert len(raw.json()["readings"]) == 18
    buckets = hourly.json()["buckets"]
    assert [b["samples"] for b in buckets] == [6, 6, 6]
    assert [b["temperature_avg"] for b in buckets] == [22.5, 28.5, 34.5]
    assert status.json()["alarm_active"] is True and status.json()["online"] is True
    assert hidden.status_code == 404
    assert too_fine.status_code == 400
