"""The board's counts in one answer (issue 20, item 7): key figures, the map's legend, the village
table and the map's sites come from live device state in one statement, so they agree with
each other and with the device lists behind them, and follow a change at once (not after the
next per-village summary)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.summary.schemas import BoardRead
from tests.support.api import ApiWorld
from tests.support.ops import Village
from tests.test_api_summary import east  # noqa: F401  (the fixture: alarming, offline, unfitted)

FIGURES = ("devices", "in_service", "online", "offline", "low_battery", "tamper", "fault")


def board(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/summary/board", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    BoardRead.model_validate(body)  # the JSON built in SQL has the documented shape
    return body


def assert_agree(body: dict[str, Any]) -> None:
    """One answer, one story: the legend counts every site, the village rows add up to the key
    figures, and the map's sites are the legend's."""
    assert sum(body["sites_by_state"].values()) == body["sites"]
    for figure in (*FIGURES, "sites", "open_work_orders"):
        assert sum(v[figure] for v in body["villages"]) == body[figure], figure
    drawn: dict[str, int] = {}
    for site in body["map"]:
        drawn[site["state"]] = drawn.get(site["state"], 0) + 1
    assert {k: v for k, v in body["sites_by_state"].items() if v} == drawn


def test_read_board_counts_agree_and_follow_device_state(
    api_client: TestClient,
    api: ApiWorld,
    east: list[Village],  # noqa: F811
) -> None:
    tree = api.tree()
    operator = api.headers("operator")

    before = board(api_client, operator)

    assert_agree(before)
    assert {f: before[f] for f in FIGURES} == {
        "devices": 3, "in_service": 2, "online": 1, "offline": 1, "low_battery": 1,
        "tamper": 0, "fault": 0,
    }  # fmt: skip
    assert before["sites_by_state"] == {
        "alarm": 1,
        "fault": 0,
        "offline": 1,
        "ok": 0,
        "no_device": 1,
    }
    [village] = before["villages"]
    assert (village["org_id"], village["name"], village["sites"]) == (tree.village.id, "东村", 3)
    assert village["installed_pct"] == 66.7 and village["online_rate"] == 0.5
    assert {s["site_id"]: s["state"] for s in before["map"]} == {
        east[0].site_id: "alarm",
        east[1].site_id: "offline",
        east[2].site_id: "no_device",
    }
    # The map is the board's own list of sites.
    assert api_client.get("/api/v1/map/sites", headers=operator).json() == before["map"]

    # The alarm is cleared and, later, the detector's deadline passes without a word from it;
    # no per-village summary is recomputed in between.
    api.db.execute(
        "UPDATE device_state SET alarm_active = false, offline_deadline = now() - interval '1 s'"
        " WHERE device_id = %s",
        (east[0].device_id,),
    )
    after = board(api_client, operator)

    assert_agree(after)
    assert (after["online"], after["offline"], after["low_battery"]) == (0, 2, 1)
    assert after["sites_by_state"]["offline"] == after["offline"] == 2
    assert after["villages"][0]["offline"] == 2 and after["villages"][0]["online_rate"] == 0.0
    # The village's count is the length of the list it opens on the board.
    for state in ("offline", "low_battery", "tamper", "fault"):
        listed = api_client.get(
            "/api/v1/devices",
            params={"org_id": tree.village.id, "state": state, "limit": 500},
            headers=operator,
        )
        assert listed.status_code == 200, listed.text
        assert listed.json()["total"] == after["villages"][0][state], state


def test_read_board_counts_in_scope_and_under_org(
    api_client: TestClient,
    api: ApiWorld,
    east: list[Village],  # noqa: F811
) -> None:
    tree = api.tree()
    outside = board(api_client, api.headers("operator", org=tree.other_village))
    everything = board(api_client, api.admin_headers(), org_id=tree.village.id, limit=1)

    assert (outside["sites"], outside["devices"], outside["villages"], outside["map"]) == (
        0, 0, [], []
    )  # fmt: skip
    assert sum(outside["sites_by_state"].values()) == 0
    # ``limit`` bounds the map's drawn sites, never the counts.
    assert everything["sites"] == 3 and len(everything["map"]) == 1
    assert sum(everything["sites_by_state"].values()) == 3
