"""Turn roster rows into sites and contacts to create, or say per field why a row is refused.

Words the sub-district writes (独居老人, 场所, 儿子, 邻居...) map to the registry's codes; the
codes themselves are accepted too. A relation we do not know becomes ``family`` with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from api.roster.parser import MAX_CONTACTS, RosterRow
from api.sites.schemas import HOUSEHOLD_CATEGORIES, VENUE_CATEGORIES
from api.spreadsheet import is_formula_like
from api.types import PHONE_MESSAGE, normalise_phone

KINDS: Final = {"住户": "household", "家庭": "household", "household": "household",
                "场所": "venue", "九小场所": "venue", "venue": "venue"}  # fmt: skip
CATEGORIES: Final = {
    "独居老人": "elderly_alone", "独居": "elderly_alone", "空巢老人": "elderly_alone",
    "孤寡老人": "widowed", "孤寡": "widowed", "残疾": "disabled", "残疾人": "disabled",
    "失能": "disabled", "失智": "dementia", "认知障碍": "dementia", "阿尔茨海默": "dementia",
    "其他": "other_at_risk", "商店": "shop", "小商店": "shop", "商铺": "shop", "餐饮": "eatery",
    "小餐饮": "eatery", "饭店": "eatery", "旅馆": "small_hotel", "小旅馆": "small_hotel",
    "网吧": "internet_cafe", "作坊": "workshop", "小作坊": "workshop", "加工": "workshop",
    "仓库": "warehouse", "合用场所": "shared_building", "群租房": "shared_building",
    "其他场所": "other_venue",
}  # fmt: skip
RELATIONS: Final = {
    "本人": "resident", "监护人": "guardian", "邻居": "neighbour", "网格员": "grid_worker",
    "村干部": "village_cadre", "社区干部": "village_cadre", "村委": "village_cadre",
    "钥匙保管人": "key_holder", "物业": "key_holder", "店主": "resident", "老板": "resident",
    "负责人": "resident", "业主": "resident",
}  # fmt: skip
FAMILY_WORDS: Final = ("子", "女", "儿", "孙", "配偶", "老伴", "妻", "夫", "兄", "弟", "姐", "妹",
                       "侄", "甥", "亲", "家属", "媳", "婿")  # fmt: skip
CONTACT_ROLES: Final = ("resident", "guardian", "family", "grid_worker", "village_cadre",
                        "neighbour", "key_holder")  # fmt: skip
_SPLIT = re.compile(r"[、,，;；/]+")


@dataclass
class Problem:
    row: int
    field: str
    reason: str


@dataclass
class PlannedSite:
    """A row that passed: the site and its contacts, ready to insert."""

    row: int
    village: str
    site: dict[str, Any]
    contacts: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def cell_phone(text: str) -> str | None:
    """A phone number as a spreadsheet cell holds it (spaces anywhere, an area code in
    brackets), by the API's one rule (api.types.normalise_phone); None when it is not one."""
    return normalise_phone(re.sub(r"[\s()（）]", "", text))


def relation_role(text: str) -> tuple[str, bool]:
    """(contact role, known) for a relation as written."""
    value = text.strip()
    if value in CONTACT_ROLES:
        return value, True
    if value in RELATIONS:
        return RELATIONS[value], True
    if any(word in value for word in FAMILY_WORDS):
        return "family", True
    return "family", False


def plan_row(
    row: RosterRow, *, org: dict[str, Any] | None, org_problem: str | None
) -> tuple[PlannedSite | None, list[Problem]]:
    """Validate one row against the organisation it resolved to (``org``)."""
    cells = row.cells
    problems: list[Problem] = []

    def bad(name: str, reason: str) -> None:
        problems.append(Problem(row.number, name, reason))

    if org is None:
        bad("village", org_problem or "村/社区 is required")
    kind, category = _kind_and_category(cells, bad)
    site = _site_fields(cells, kind, bad)
    site["category"] = category
    planned = PlannedSite(row.number, cells.get("village", ""), site)
    # Kept verbatim (it is someone's data) but flagged: every export neutralises it
    # (api/spreadsheet.py), so it can never run as a formula in the centre's spreadsheet.
    planned.warnings.extend(
        f"{name} starts like a spreadsheet formula: stored as text, neutralised in exports"
        for name, value in cells.items()
        if is_formula_like(value)
    )
    for n in range(1, MAX_CONTACTS + 1):
        contact = _contact(row, n, planned, bad)
        if contact is not None:
            planned.contacts.append(contact)
    if problems:
        return None, problems
    assert org is not None
    site["org_id"] = org["id"]
    return planned, []


def _kind_and_category(cells: dict[str, str], bad: Any) -> tuple[str, str]:
    kind_text = cells.get("kind", "") or "住户"
    kind = KINDS.get(kind_text.lower() if kind_text.isascii() else kind_text)
    if kind is None:
        bad("kind", f"类型 {kind_text!r} is not 住户 (household) or 场所 (venue)")
        kind = "household"
    category_text = cells.get("category", "")
    if not category_text:
        if kind == "venue":
            bad("category", "类别 is required for a venue")
        return kind, "elderly_alone" if kind == "household" else ""
    category = CATEGORIES.get(category_text, category_text)
    allowed = HOUSEHOLD_CATEGORIES if kind == "household" else VENUE_CATEGORIES
    if category not in allowed:
        bad("category", f"类别 {category_text!r} is not a known {kind} category")
    return kind, category


def _site_fields(cells: dict[str, str], kind: str, bad: Any) -> dict[str, Any]:
    address = cells.get("address", "")
    if not address:
        bad("address", "地址 is required")
    resident = cells.get("resident_name", "")
    name = cells.get("name", "") or resident
    if kind == "household" and not resident:
        bad("resident_name", "住户姓名 is required for a household")
    if not name:
        bad("name", "名称 is required for a venue")
    for text_field in ("address", "name", "resident_name", "key_holder_name"):
        if len(cells.get(text_field, "")) > 200:
            bad(text_field, "at most 200 characters")
    site: dict[str, Any] = {
        "kind": kind,
        "name": name,
        "address": address,
        "resident_name": resident or None,
        "resident_situation": [s for s in _SPLIT.split(cells.get("resident_situation", "")) if s],
        "key_holder_name": cells.get("key_holder_name") or None,
        "notes": cells.get("notes") or None,
        "risk_flags": [],
        "latitude": None,
        "longitude": None,
        "phone": None,
        "key_holder_phone": None,
    }
    for phone_field in ("phone", "key_holder_phone"):
        if cells.get(phone_field):
            site[phone_field] = cell_phone(cells[phone_field])
            if site[phone_field] is None:
                bad(phone_field, f"{cells[phone_field]!r}: {PHONE_MESSAGE}")
    for coord, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
        if cells.get(coord):
            try:
                site[coord] = float(cells[coord])
            except ValueError:
                site[coord] = None
            if site[coord] is None or not low <= site[coord] <= high:
                bad(coord, f"{cells[coord]!r} is not a number between {low} and {high}")
    return site


def _contact(row: RosterRow, n: int, planned: PlannedSite, bad: Any) -> dict[str, Any] | None:
    name = row.cells.get(f"contact{n}_name", "")
    relation = row.cells.get(f"contact{n}_relation", "")
    phone_text = row.cells.get(f"contact{n}_phone", "")
    if not (name or relation or phone_text):
        return None
    if not name:
        bad(f"contact{n}_name", f"联系人{n}姓名 is required when the contact has other fields")
    phone = cell_phone(phone_text) if phone_text else None
    if not phone_text:
        bad(f"contact{n}_phone", f"联系人{n}电话 is required")
    elif phone is None:
        bad(f"contact{n}_phone", f"{phone_text!r}: {PHONE_MESSAGE}")
    role, known = relation_role(relation) if relation else ("family", False)
    if not known:
        planned.warnings.append(
            f"联系人{n} relation {relation!r} not recognised, recorded as family"
        )
    return {"name": name, "role": role, "priority": n, "phone": phone}
