"""Read a sub-district roster (CSV or XLSX) into rows of named cells.

The sheets come as the sub-district keeps them: maybe a title line or two above the header, the
header in Chinese (or English), CSV saved by Excel in UTF-8 with a BOM or in GB18030, phone
numbers that Excel turned into numbers. One row is one household or venue with up to three
contacts. Cells are returned as trimmed text; validation (validate.py) decides what they mean.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from typing import Final

from openpyxl import load_workbook

from api.roster.errors import RosterUnreadable
from api.spreadsheet import csv_bytes

MAX_ROWS: Final = 5000
MAX_CONTACTS: Final = 3

# Column key -> accepted header spellings (compared without spaces, case-insensitive).
COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "village": (
        "村/社区",
        "村社区",
        "村",
        "社区",
        "村(社区)",
        "村（社区）",
        "village",
        "community",
    ),
    "grid": ("网格", "网格编号", "grid"),
    "kind": ("类型", "kind", "type"),
    "category": ("类别", "人员类别", "场所类别", "category"),
    "name": ("名称", "场所名称", "name", "site_name"),
    "address": ("地址", "住址", "详细地址", "address"),
    "resident_name": ("住户姓名", "姓名", "户主", "老人姓名", "resident", "resident_name"),
    "resident_situation": ("情况", "人员情况", "身体状况", "situation", "resident_situation"),
    "phone": ("电话", "住户电话", "联系电话", "phone"),
    "latitude": ("纬度", "latitude", "lat"),
    "longitude": ("经度", "longitude", "lon", "lng"),
    "key_holder_name": ("钥匙保管人", "key_holder", "key_holder_name"),
    "key_holder_phone": ("钥匙保管人电话", "key_holder_phone"),
    "notes": ("备注", "notes"),
}
for _n in range(1, MAX_CONTACTS + 1):
    COLUMNS[f"contact{_n}_name"] = (f"联系人{_n}姓名", f"联系人{_n}", f"contact{_n}_name")
    COLUMNS[f"contact{_n}_relation"] = (f"联系人{_n}关系", f"关系{_n}", f"contact{_n}_relation")
    COLUMNS[f"contact{_n}_phone"] = (f"联系人{_n}电话", f"电话{_n}", f"contact{_n}_phone")

# The template's header: the first spelling of each column.
TEMPLATE_HEADER: Final = tuple(spellings[0] for spellings in COLUMNS.values())
_LOOKUP: Final = {
    spelling.replace(" ", "").lower(): key
    for key, spellings in COLUMNS.items()
    for spelling in spellings
}
_HEADER_SEARCH_ROWS: Final = 10
# An XLSX is a zip: a few megabytes can expand to gigabytes of XML that openpyxl would parse
# (the shared-strings table is read whole). A 5,000-row roster is a few megabytes unpacked.
MAX_XLSX_UNPACKED_BYTES: Final = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One data row: its 1-based line number in the sheet and its cells by column key."""

    number: int
    cells: dict[str, str]


def read_roster(content: bytes, *, filename: str) -> tuple[dict[str, str], list[RosterRow]]:
    """(header key -> header text as written, rows) from a CSV or XLSX file."""
    lower = filename.lower()
    if lower.endswith((".xlsx", ".xlsm")) or content[:2] == b"PK":
        table = _xlsx_table(content)
    elif lower.endswith((".csv", ".txt")) or not lower:
        table = _csv_table(content)
    else:
        raise RosterUnreadable("use a .csv or .xlsx file")
    return _rows(table)


def _csv_table(content: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise RosterUnreadable("the CSV is neither UTF-8 nor GB18030 text")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return [list(row) for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as exc:  # e.g. a field over csv's 128 KiB limit: not a roster
        raise RosterUnreadable(f"not a readable CSV file ({exc})") from exc


def _check_unpacked_size(content: bytes) -> None:
    """Refuse a workbook whose members declare more than MAX_XLSX_UNPACKED_BYTES unpacked."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise RosterUnreadable("not a readable XLSX file (not a zip archive)") from exc
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise RosterUnreadable(
            f"the XLSX unpacks to {unpacked // 1_000_000} MB; a roster is at most "
            f"{MAX_XLSX_UNPACKED_BYTES // 1_000_000} MB unpacked"
        )


def _xlsx_table(content: bytes) -> list[list[str]]:
    _check_unpacked_size(content)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise RosterUnreadable(f"not a readable XLSX file ({type(exc).__name__})") from exc
    try:
        sheet = book.worksheets[0]
        table = []
        for values in sheet.iter_rows(values_only=True):
            table.append([_cell_text(v) for v in values])
            if len(table) > MAX_ROWS + _HEADER_SEARCH_ROWS:
                break
        return table
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e6:
        return str(int(value))  # a phone number Excel stored as a number
    return str(value).strip()


def _rows(table: list[list[str]]) -> tuple[dict[str, str], list[RosterRow]]:
    header_at, keys = _find_header(table)
    header = {key: table[header_at][i].strip() for i, key in keys.items()}
    rows = []
    for offset, values in enumerate(table[header_at + 1 :], start=header_at + 2):
        cells = {key: values[i].strip() for i, key in keys.items() if i < len(values)}
        if not any(cells.values()):
            continue  # blank lines between blocks are common
        rows.append(RosterRow(offset, cells))
        if len(rows) > MAX_ROWS:
            raise RosterUnreadable(f"at most {MAX_ROWS} rows per file")
    return header, rows


def _find_header(table: list[list[str]]) -> tuple[int, dict[int, str]]:
    for index, values in enumerate(table[:_HEADER_SEARCH_ROWS]):
        keys: dict[int, str] = {}
        for i, text in enumerate(values):
            key = _LOOKUP.get(text.replace(" ", "").replace("\u3000", "").lower())
            if key and key not in keys.values():
                keys[i] = key
        if "address" in keys.values() and "village" in keys.values():
            return index, keys
    raise RosterUnreadable(
        "no header row with at least 村/社区 (village) and 地址 (address) in the first "
        f"{_HEADER_SEARCH_ROWS} lines; download the template"
    )


def template_csv() -> bytes:
    """The CSV template: the header and one example row, UTF-8 with a BOM so Excel reads it."""
    example = {
        "village": "南张村",
        "grid": "",
        "kind": "住户",
        "category": "独居老人",
        "name": "",
        "address": "南张街道南张村3组12号",
        "resident_name": "王秀英",
        "resident_situation": "独居、行动不便",
        "phone": "",
        "latitude": "",
        "longitude": "",
        "key_holder_name": "李明",
        "key_holder_phone": "13800000001",
        "notes": "",
        "contact1_name": "张伟",
        "contact1_relation": "儿子",
        "contact1_phone": "13800000002",
        "contact2_name": "李明",
        "contact2_relation": "邻居",
        "contact2_phone": "13800000001",
    }
    return csv_bytes(TEMPLATE_HEADER, [[example.get(key, "") for key in COLUMNS]])
