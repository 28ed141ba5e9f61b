"""Monthly statistics export (issue 20, item 9): per village and sub-district, as CSV and XLSX,
with formula-like text neutralised; real PostgreSQL, the real HTTP route."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.incidents import service as incidents
from tests.support.api import ApiWorld
from tests.support.ops import raise_alarm, seed_world

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_export_monthly_statistics_csv_and_xlsx(api_client: TestClient, api: ApiWorld) -> None:
    db = api.db
    world = seed_world(db)
    db.execute("UPDATE organisations SET name = '=cmd|calc' WHERE id = %s", (world.b.id,))
    in_month = datetime(2026, 11, 30, 23, 30, tzinfo=SHANGHAI)  # still November locally
    first = raise_alarm(db, world.a.device_id, at=in_month)
    incidents.resolve(db, scope=world.everything, incident_id=first, actor="op",
                      outcome="false_alarm", cause="cooking")  # fmt: skip
    raise_alarm(db, world.b.device_id, at=datetime(2026, 12, 1, 0, 30, tzinfo=SHANGHAI))
    headers = api.admin_headers()

    answer = api_client.get(
        "/api/v1/summary/monthly", params={"month": "2026-11", "format": "csv"}, headers=headers
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][0] == "街道 / Sub-district"
    by_village = {r[1]: r for r in rows[1:]}
    assert by_village["南张村"][3] == "1" and by_village["南张村"][6] == "1"
    assert "'=cmd|calc" in by_village, by_village.keys()  # text, never a formula
    assert by_village["'=cmd|calc"][3] == "0"  # its alarm was in December
    assert by_village["合计 / Total"][3] == "1"

    book = api_client.get("/api/v1/summary/monthly", params={"month": "2026-11"}, headers=headers)
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None and sheet.title == "2026-11"
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert "'=cmd|calc" in [c.value for c in cells]
    bad = api_client.get("/api/v1/summary/monthly", params={"month": "2026-13"}, headers=headers)
    assert bad.status_code == 422
