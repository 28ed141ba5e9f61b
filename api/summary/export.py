"""Monthly statistics for the fire-safety committee, per village and sub-district, as CSV or
XLSX. Every text cell goes through :func:`neutralise_formula` first: a household or village
name typed as ``=HYPERLINK(...)`` must reach a spreadsheet as text, never as a formula."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from openpyxl import Workbook
from psycopg.rows import dict_row

from core.db import load_queries

Q = load_queries("api.summary", "queries.sql")

# Column keys in order, with the committee's Chinese heading and the English one.
COLUMNS = (
    ("sub_district", "街道", "Sub-district"),
    ("village", "村/社区", "Village or community"),
    ("sites", "站点数", "Sites"),
    ("fire_alarms", "火警（含高温）", "Fire and heat alarms"),
    ("tamper_alarms", "防拆报警", "Tamper alarms"),
    ("real_fires", "真实火情", "Real fires"),
    ("false_alarms", "误报", "False alarms"),
    ("tests", "测试", "Tests"),
    ("device_faults", "设备故障", "Device faults"),
    ("avg_ack_s", "平均接警用时（秒）", "Mean time to acknowledge (s)"),
)
_SUMMED = ("sites", "fire_alarms", "tamper_alarms", "real_fires", "false_alarms", "tests",
           "device_faults")  # fmt: skip
# What spreadsheet programs read as the start of a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise_formula(value: Any) -> Any:
    """Text starting like a formula gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def month_bounds(month: str, tz: str = "Asia/Shanghai") -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of ``YYYY-MM`` in the local zone."""
    year, mon = (int(part) for part in month.split("-"))
    zone = ZoneInfo(tz)
    start = datetime(year, mon, 1, tzinfo=zone)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=zone)
    return start, end


def monthly_rows(
    conn: psycopg.Connection[Any], *, scope: list[str], month: str
) -> list[dict[str, Any]]:
    """One row per village or community, then one total row per sub-district."""
    start, end = month_bounds(month)
    params = {"scope": scope, "start": start, "end": end}
    rows = [dict(r) for r in conn.cursor(row_factory=dict_row).execute(
        Q["monthly_by_village"], params).fetchall()]  # fmt: skip
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row["sub_district"] or ""
        total = totals.setdefault(
            name, {"sub_district": name, "village": "合计 / Total", **dict.fromkeys(_SUMMED, 0)}
        )
        for key in _SUMMED:
            total[key] += row[key] or 0
        total.setdefault("avg_ack_s", None)
    return rows + list(totals.values())


def _cells(rows: list[dict[str, Any]]) -> list[list[Any]]:
    head = [f"{zh} / {en}" for _, zh, en in COLUMNS]
    body = [[neutralise_formula(row.get(key)) for key, _, _ in COLUMNS] for row in rows]
    return [head, *body]


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel on a Chinese Windows opens it right."""
    out = io.StringIO()
    csv.writer(out).writerows(_cells(rows))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict[str, Any]], *, month: str) -> bytes:
    """One sheet named after the month; text cells typed as strings."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = month
    for line in _cells(rows):
        sheet.append(line)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never 'f', whatever the text looks like
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
