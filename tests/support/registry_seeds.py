"""Seeds of the registry rows in the role matrix (tests/test_api_roles.py): objects made
directly in the database, each new, so rows sharing a module database never collide."""

from __future__ import annotations

import uuid

from core.factory import create_contact, create_site
from device_sim.registration import register_devices
from tests.support.api import ApiWorld, Org


def site(api: ApiWorld, org: Org | None = None) -> int:
    """A new household in ``org`` (default: the standard tree's village)."""
    org = org or api.tree().village
    return create_site(
        api.db, org_id=org.id, name="矩阵户", address="矩阵地址", resident_name="矩阵"
    )


def other_site(api: ApiWorld) -> int:
    return site(api, api.tree().other_village)


def contact(api: ApiWorld, org: Org | None = None) -> int:
    """A family contact of a new site."""
    return create_contact(
        api.db, site_id=site(api, org), name="矩阵联系人", role="family", phone="13700000000"
    )


def other_contact(api: ApiWorld) -> int:
    return contact(api, api.tree().other_village)


def device(api: ApiWorld, org: Org | None = None, *, bound: bool = True) -> str:
    """A registered detector, installed at a new site of ``org`` (or in stock)."""
    device_id = f"NZ-M{uuid.uuid4().hex[:8].upper()}"
    site_id = site(api, org) if bound else None
    register_devices(
        api.db, [device_id], site_id=site_id, status="installed" if bound else "registered"
    )
    return device_id


def other_device(api: ApiWorld) -> str:
    return device(api, api.tree().other_village)


def stock_device(api: ApiWorld) -> str:
    return device(api, bound=False)


def session(api: ApiWorld) -> str:
    """``<device>/commissioning/<session id>`` of a waiting test in the village."""
    device_id = device(api)
    row = api.db.execute(
        "INSERT INTO commissioning_sessions (device_id, site_id, expires_at) "
        "SELECT id, site_id, now() + interval '1 hour' FROM devices WHERE id = %s RETURNING id",
        (device_id,),
    ).fetchone()
    assert row is not None
    return f"{device_id}/commissioning/{row['id']}"
