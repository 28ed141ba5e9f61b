"""Roster import (CSV and XLSX as the sub-district keeps them): a row-by-row report, all or none."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import ApiWorld

DATA = Path(__file__).parent / "data"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(client: TestClient, headers: dict[str, str], name: str, *, dry_run: bool = False) -> Any:
    content = (DATA / name).read_bytes()
    kind = XLSX if name.endswith(".xlsx") else "text/csv"
    return client.post(
        "/api/v1/roster/import",
        files={"file": (name, content, kind)},
        data={"dry_run": str(dry_run).lower()},
        headers=headers,
    )


def count_sites(api: ApiWorld) -> int:
    row = api.db.execute("SELECT count(*) AS n FROM sites").fetchone()
    assert row is not None
    return int(row["n"])


@pytest.mark.parametrize("name", ["roster_good.csv", "roster_good.xlsx", "roster_good_gb18030.csv"])
def test_import_roster_good_file_stores_every_row(
    api_client: TestClient, api: ApiWorld, name: str
) -> None:
    tree = api.tree()
    headers = api.headers("operator", org=tree.sub_district)

    response = upload(api_client, headers, name)

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["imported"] is True and report["rejected"] == []
    assert (report["rows"], report["accepted_count"]) == (3, 3)
    assert [r["row"] for r in report["accepted"]] == [3, 4, 5]  # line 1 is a title
    assert all(r["site_id"] for r in report["accepted"])
    assert report["accepted"][2]["warnings"] == []
    sites = api.db.execute(
        "SELECT s.name, s.kind, s.category, s.org_id, s.resident_situation, s.latitude, "
        "array_agg(c.role || ':' || c.phone ORDER BY c.priority) AS contacts "
        "FROM sites s JOIN contacts c ON c.site_id = s.id GROUP BY s.id ORDER BY s.id"
    ).fetchall()
    assert [(s["name"], s["kind"], s["category"]) for s in sites] == [
        ("王秀英", "household", "elderly_alone"),
        ("李大爷", "household", "widowed"),
        ("西村小饭店", "venue", "eatery"),
    ]
    assert [s["org_id"] for s in sites] == [tree.village.id, tree.grid.id, tree.other_village.id]
    assert sites[0]["resident_situation"] == ["独居", "行动不便"]
    assert sites[0]["contacts"] == [
        "family:13800000002",
        "neighbour:13800000001",
        "grid_worker:0537-2345678",
    ]
    assert sites[1]["contacts"] == ["family:13900000003"]
    assert sites[1]["latitude"] == pytest.approx(35.3651)


@pytest.mark.parametrize("name", ["roster_bad.csv", "roster_bad.xlsx"])
def test_import_roster_bad_rows_reported_and_nothing_stored(
    api_client: TestClient, api: ApiWorld, name: str
) -> None:
    headers = api.headers("operator", org=api.tree().sub_district)

    report = upload(api_client, headers, name).json()

    assert report["imported"] is False
    assert count_sites(api) == 0, "nothing half-imported"
    offset = 1 if name.endswith(".xlsx") else 0  # the XLSX has a title line on top
    assert [r["row"] - offset for r in report["accepted"]] == [2]
    problems = {(p["row"] - offset, p["field"]) for p in report["rejected"]}
    assert problems == {
        (3, "address"), (3, "contact1_phone"), (4, "village"), (5, "category"),
        (6, "address"), (7, "category"), (7, "latitude"),
    }  # fmt: skip
    reasons = {(p["row"] - offset, p["field"]): p["reason"] for p in report["rejected"]}
    assert "same place as row" in reasons[(6, "address")]
    assert "北村" in reasons[(4, "village")]
    assert report["rejected_count"] == 5


def test_import_roster_dry_run_validates_only(api_client: TestClient, api: ApiWorld) -> None:
    headers = api.headers("operator", org=api.tree().sub_district)

    report = upload(api_client, headers, "roster_good.csv", dry_run=True).json()

    assert report["dry_run"] is True and report["imported"] is False
    assert report["accepted_count"] == 3 and report["rejected"] == []
    assert count_sites(api) == 0


def test_import_roster_twice_refuses_duplicates(api_client: TestClient, api: ApiWorld) -> None:
    headers = api.headers("operator", org=api.tree().sub_district)
    assert upload(api_client, headers, "roster_good.csv").json()["imported"] is True

    again = upload(api_client, headers, "roster_good.xlsx").json()

    assert again["imported"] is False and again["rejected_count"] == 3
    assert all("already on file" in p["reason"] for p in again["rejected"])
    assert count_sites(api) == 3


def test_import_roster_rows_outside_scope_refused(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    headers = api.headers("operator", org=tree.village)  # 东村 only, not 西村

    report = upload(api_client, headers, "roster_good.csv").json()

    assert report["imported"] is False
    assert [(p["row"], p["field"]) for p in report["rejected"]] == [(5, "village")]
    assert count_sites(api) == 0


def test_import_roster_unreadable_file_is_bad_request(
    api_client: TestClient, api: ApiWorld
) -> None:
    headers = api.headers("operator", org=api.tree().sub_district)
    no_header = api_client.post(
        "/api/v1/roster/import",
        files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")},
        headers=headers,
    )
    assert no_header.status_code == 400
    assert no_header.json()["error"]["code"] == "roster_unreadable"
    broken = api_client.post(
        "/api/v1/roster/import",
        files={"file": ("x.xlsx", b"PK\x03\x04 not really a zip", XLSX)},
        headers=headers,
    )
    assert broken.status_code == 400
    installer = api.headers("installer", org=api.tree().sub_district)
    assert upload(api_client, installer, "roster_good.csv").status_code == 403


def test_import_roster_xlsx_bomb_refused_before_parsing(
    api_client: TestClient, api: ApiWorld
) -> None:
    # 100 MB of one repeated byte packs into about 100 KB: refused from the zip's directory,
    # before openpyxl would expand it.
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"A" * 100_000_000)
    assert len(packed.getvalue()) < 1_000_000
    response = api_client.post(
        "/api/v1/roster/import",
        files={"file": ("bomb.xlsx", packed.getvalue(), XLSX)},
        headers=api.headers("operator", org=api.tree().sub_district),
    )
    assert response.status_code == 400, response.text
    assert "unpacks to 100 MB" in response.json()["error"]["message"]


def test_read_roster_template_is_importable(api_client: TestClient, api: ApiWorld) -> None:
    headers = api.headers("operator", org=api.tree().sub_district)
    template = api_client.get("/api/v1/roster/template.csv", headers=headers)
    assert template.status_code == 200
    assert template.content.startswith(b"\xef\xbb\xbf")
    assert "联系人1电话" in template.text.splitlines()[0]

    # The example row names a village that does not exist here: exactly that is refused.
    report = api_client.post(
        "/api/v1/roster/import",
        files={"file": ("template.csv", template.content, "text/csv")},
        data={"dry_run": "true"},
        headers=headers,
    ).json()
    assert [(p["row"], p["field"]) for p in report["rejected"]] == [(2, "village")]


def test_import_roster_channel_templates_make_contacts_pageable(
    api_client: TestClient, api: ApiWorld
) -> None:
    headers = api.headers("operator", org=api.tree().sub_district)
    sms = "aliyunsms://KeyId:KeySecret@SMS_1/{phone}?sign=南张消防"
    voice = "alivoice://KeyId:KeySecret@TTS_1/{phone}?show=05371234567"
    content = (DATA / "roster_good.csv").read_bytes()

    response = api_client.post(
        "/api/v1/roster/import",
        files={"file": ("roster_good.csv", content, "text/csv")},
        data={"channel_templates": [sms, voice]},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["imported"] is True
    row = api.db.execute("SELECT channels FROM contacts WHERE phone = '13800000002'").fetchone()
    assert row is not None
    assert row["channels"] == [
        sms.replace("{phone}", "13800000002"),
        voice.replace("{phone}", "13800000002"),
    ]
    no_slot = api_client.post(
        "/api/v1/roster/import",
        files={"file": ("roster_good.csv", content, "text/csv")},
        data={"channel_templates": ["aliyunsms://KeyId:KeySecret@SMS_1/13800000000"]},
        headers=headers,
    )
    assert no_slot.status_code == 400
    assert "{phone}" in no_slot.json()["error"]["message"]
    # The templates are held to the contacts' channel policy: no generic webhook to any host.
    webhook = api_client.post(
        "/api/v1/roster/import",
        files={"file": ("roster_good.csv", content, "text/csv")},
        data={"channel_templates": ["form://10.0.0.5/{phone}"]},
        headers=headers,
    )
    assert webhook.status_code == 400
    assert "not an allowed channel" in webhook.json()["error"]["message"]
