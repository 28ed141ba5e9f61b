"""The shift handover log (issue 20, item 9): operators write, the next shift reads; a village
never reads a sibling village's notes, and the centre's notes reach every village."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.api import ApiWorld


def test_hand_over_shift_notes_within_scope(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    centre = api.headers("operator", org=tree.sub_district)
    east = api.headers("operator", org=tree.village)
    west = api.headers("operator", org=tree.other_village)

    written = api_client.post("/api/v1/handovers", json={"note": "东村：刘家离线，明早回访"},
                              headers=east)  # fmt: skip
    api_client.post("/api/v1/handovers", json={"note": "全街道：夜班注意大风"}, headers=centre)
    empty = api_client.post("/api/v1/handovers", json={"note": "   "}, headers=east)

    assert written.status_code == 201, written.text
    assert written.json()["open_incidents"] == 0 and written.json()["author"]
    assert empty.status_code == 422

    def notes(headers: dict[str, str]) -> list[str]:
        answer = api_client.get("/api/v1/handovers", headers=headers)
        assert answer.status_code == 200, answer.text
        return [h["note"] for h in answer.json()]

    assert notes(east) == ["全街道：夜班注意大风", "东村：刘家离线，明早回访"]
    assert notes(west) == ["全街道：夜班注意大风"]
    assert notes(centre) == ["全街道：夜班注意大风", "东村：刘家离线，明早回访"]
