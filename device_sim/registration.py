"""Register simulated detectors in the registry so ingest accepts their messages.

Rows are made by core.factory's bulk functions. Devices get model ``sw-native-1``; the
``devices_state_row`` trigger creates their ``device_state`` rows. :func:`register_programme`
also builds a simulated Jining > Rencheng > Nanzhang hierarchy with one site per household or
venue; names, addresses and coordinates are invented, marked 模拟 (simulated).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import psycopg

from core.factory import NATIVE_MODEL, create_devices, create_organisation, create_sites
from device_sim.detector import Detector

MODEL_CODE: Final = NATIVE_MODEL

# (code, level, name, English name); codes say "sim" so nobody mistakes them for real ones.
PROGRAMME_ORGANISATIONS: Final = (
    ("sim-jining", "city", "济宁市", "Jining"),
    ("sim-rencheng", "district", "任城区", "Rencheng District"),
    ("sim-nanzhang", "sub_district", "南张街道", "Nanzhang Sub-district"),
)
_HOUSEHOLD_CATEGORIES: Final = ("elderly_alone",) * 6 + ("widowed", "disabled", "dementia")
_VENUE_CATEGORIES: Final = (
    "shop", "eatery", "small_hotel", "internet_cafe", "workshop", "warehouse", "shared_building",
)  # fmt: skip
_ROOMS: Final = {"household": ("客厅", "卧室", "厨房"), "venue": ("营业区", "后厨", "库房")}
_CENTRE: Final = (35.365, 116.585)  # an approximate point south of Jining's centre


@dataclass(frozen=True)
class Registration:
    """What :func:`register_programme` created or found."""

    org_id: int | None
    sites: int
    devices_added: int


def register_devices(
    conn: psycopg.Connection[Any],
    device_ids: Iterable[str],
    *,
    model_code: str = MODEL_CODE,
    site_id: int | None = None,
    status: str = "in_service",
) -> int:
    """Register ``device_ids`` (existing ones are left alone); return how many were added."""
    ids = list(device_ids)
    return _insert_devices(
        conn, ids, [site_id] * len(ids), [None] * len(ids), model_code=model_code, status=status
    )


def register_programme(
    conn: psycopg.Connection[Any],
    detectors: Sequence[Detector],
    *,
    model_code: str = MODEL_CODE,
    seed: int = 0,
) -> Registration:
    """Organisations, one site per household or venue detector, and the devices bound to them.

    Detectors of kind ``device`` (large synthetic fleets) are registered without a site.
    """
    with conn.transaction():
        parent: int | None = None
        for code, level, name, name_en in PROGRAMME_ORGANISATIONS:
            parent = create_organisation(
                conn,
                code=code,
                level=level,
                name=name,
                name_en=name_en,
                parent_id=parent,
                if_exists="keep",
            )
        assert parent is not None
        sited = [d for d in detectors if d.site_kind != "device"]
        site_names = [_site_name(d) for d in sited]
        by_name = _insert_sites(conn, parent, sited, site_names, seed)
        site_of = {d.device_id: by_name[n] for d, n in zip(sited, site_names, strict=True)}
        ids = [d.device_id for d in detectors]
        rooms = [_room(d) for d in detectors]
        added = _insert_devices(
            conn,
            ids,
            [site_of.get(i) for i in ids],
            rooms,
            model_code=model_code,
            status="in_service",
        )
    return Registration(org_id=parent, sites=len(by_name), devices_added=added)


def _site_name(det: Detector) -> str:
    kind = "住户" if det.site_kind == "household" else "场所"
    return f"模拟{kind} {det.device_id}"


def _room(det: Detector) -> str | None:
    rooms = _ROOMS.get(det.site_kind)
    return rooms[sum(map(ord, det.device_id)) % len(rooms)] if rooms else None


def _insert_sites(
    conn: psycopg.Connection[Any], org_id: int, sited: list[Detector], names: list[str], seed: int
) -> dict[str, int]:
    rng = random.Random(seed)
    categories, addresses, lats, lons = [], [], [], []
    for n, det in enumerate(sited, start=1):
        pool = _HOUSEHOLD_CATEGORIES if det.site_kind == "household" else _VENUE_CATEGORIES
        categories.append(pool[n % len(pool)])
        addresses.append(f"济宁市任城区南张街道 模拟地址 {n} 号")
        lats.append(round(_CENTRE[0] + rng.uniform(-0.03, 0.03), 6))
        lons.append(round(_CENTRE[1] + rng.uniform(-0.03, 0.03), 6))
    kinds = [d.site_kind for d in sited]
    return create_sites(
        conn,
        org_id=org_id,
        names=names,
        addresses=addresses,
        kinds=kinds,
        categories=categories,
        latitudes=lats,
        longitudes=lons,
        # A household's situation is its category; venues have none.
        situations=[
            c if k == "household" else None for k, c in zip(kinds, categories, strict=True)
        ],
    )


def _insert_devices(
    conn: psycopg.Connection[Any],
    ids: list[str],
    site_ids: list[int | None],
    rooms: list[str | None],
    *,
    model_code: str,
    status: str,
) -> int:
    return create_devices(
        conn,
        device_ids=ids,
        site_ids=site_ids,
        rooms=rooms,
        model_code=model_code,
        status=status,
        installed_at=datetime.now(UTC),
        installed_by="device_sim",
    )
