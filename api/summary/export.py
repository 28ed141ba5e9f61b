"""Monthly statistics for the fire-safety committee, per village and sub-district, as CSV or
XLSX, written by api/spreadsheet.py: a village name typed as ``=HYPERLINK(...)`` reaches a
spreadsheet as text, never as a formula."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from api.spreadsheet import csv_bytes, xlsx_bytes
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


def _table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    header = [f"{zh} / {en}" for _, zh, en in COLUMNS]
    return header, [[row.get(key) for key, _, _ in COLUMNS] for row in rows]


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, formula-like text neutralised (api/spreadsheet.py)."""
    header, body = _table(rows)
    return csv_bytes(header, body)


def to_xlsx(rows: list[dict[str, Any]], *, month: str) -> bytes:
    """One sheet named after the month; text cells neutralised and typed as text."""
    header, body = _table(rows)
    return xlsx_bytes(header, body, title=month)
