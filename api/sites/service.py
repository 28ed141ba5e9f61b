"""Sites: list, read the household file, create, update and archive, inside the caller's scope."""

from __future__ import annotations

from typing import Any

import psycopg

from api.contacts.service import Disclosure, mask_phone, present
from api.devices.service import site_devices
from api.errors import BadRequest, Conflict, NotFound
from api.lists import ListParams, Page, fetch_page, order_by
from api.registry_common import Scope, assignments, compose, log_registry
from api.sites.schemas import (
    HistoryEntry,
    IncidentBrief,
    SiteCreate,
    SiteFile,
    SiteRead,
    SiteUpdate,
    check_category,
)
from core.db import load_queries

Q = load_queries("api.sites", "queries.sql")

SORTS = {
    "id": "s.id",
    "name": "s.name",
    "address": "s.address",
    "created_at": "s.created_at",
    "updated_at": "s.updated_at",
    "category": "s.category",
}
# Placement on an organisation below which sites may hang (not a city or district).
SITE_LEVELS = frozenset({"sub_district", "village", "community", "grid"})


def _org_path(conn: psycopg.Connection[Any], *, scope: Scope, org_id: int) -> dict[str, Any]:
    org = conn.execute(Q["org_in_scope"], {"org_id": org_id, "scope": list(scope)}).fetchone()
    if org is None:
        raise NotFound("no such organisation")
    return dict(org)


def list_sites(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    q: str | None = None,
    org_id: int | None = None,
    kind: str | None = None,
    category: str | None = None,
    include_archived: bool = False,
    sort: str = "name",
    limit: int = 50,
    offset: int = 0,
    disclosure: Disclosure = "full",
) -> Page[SiteRead]:
    """Sites in scope; ``q`` searches name, address, resident and phone; ``org_id`` a subtree."""
    org_path = _org_path(conn, scope=scope, org_id=org_id)["path"] if org_id else None
    params = {
        "scope": list(scope),
        "org_path": org_path,
        "kind": kind,
        "category": category,
        "include_archived": include_archived,
        "q": f"%{_escape_like(q)}%" if q else None,
        # Searching by phone would let a viewer find out whose number it is.
        "search_phone": disclosure != "summary",
    }
    query = compose(Q["list_sites"], order=order_by(sort, SORTS, "name", tiebreak="id"))
    return fetch_page(
        conn, query, params, page=ListParams(limit=limit, offset=offset, sort=sort),
        model=SiteRead, item=lambda row: shown(SiteRead.from_row(row), disclosure),
        count=Q["count_sites"],
    )  # fmt: skip


def shown(site: SiteRead, disclosure: Disclosure) -> SiteRead:
    """Viewers (government read access) see phone numbers masked."""
    if disclosure == "summary":
        site.phone = mask_phone(site.phone)
        site.key_holder_phone = mask_phone(site.key_holder_phone)
    return site


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def read_site(conn: psycopg.Connection[Any], *, scope: Scope, site_id: int) -> SiteRead:
    """One site; 404 outside scope."""
    row = conn.execute(Q["get_site"], {"site_id": site_id, "scope": list(scope)}).fetchone()
    if row is None:
        raise NotFound("no such site")
    return SiteRead.from_row(row)


def read_site_file(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    site_id: int,
    disclosure: Disclosure,
    incidents: int = 20,
    history: int = 100,
) -> SiteFile:
    """The household file: site, contacts in order, devices with state, incidents, history."""
    site = read_site(conn, scope=scope, site_id=site_id)
    ids = {"site_id": site_id}
    contacts = [
        present(r, disclosure=disclosure) for r in conn.execute(Q["site_contacts"], ids).fetchall()
    ]
    recent = conn.execute(Q["site_incidents"], {**ids, "limit": incidents}).fetchall()
    log = conn.execute(Q["site_history"], {**ids, "limit": history}).fetchall()
    return SiteFile(
        **shown(site, disclosure).model_dump(),
        contacts=contacts,
        devices=site_devices(conn, scope=scope, site_id=site_id),
        recent_incidents=[IncidentBrief(**r) for r in recent],
        history=[HistoryEntry(**r) for r in log],
    )


def create_site(
    conn: psycopg.Connection[Any], *, scope: Scope, data: SiteCreate, actor: str | None
) -> SiteRead:
    """Add a household or venue under an organisation of the caller's scope."""
    org = _org_path(conn, scope=scope, org_id=data.org_id)
    if org["level"] not in SITE_LEVELS:
        raise BadRequest("sites belong to a sub-district, village, community or grid")
    row = conn.execute(Q["insert_site"], data.model_dump()).fetchone()
    assert row is not None
    log_registry(
        conn, action="site_created", actor=actor, site_id=row["id"], detail={"name": data.name}
    )
    return read_site(conn, scope=scope, site_id=row["id"])


def update_site(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    site_id: int,
    data: SiteUpdate,
    actor: str | None,
) -> SiteRead:
    """Change the fields sent; moving a site needs the new organisation in scope too."""
    current = read_site(conn, scope=scope, site_id=site_id)
    conn.execute(Q["lock_site"], {"site_id": site_id, "scope": list(scope)})
    if current.archived_at is not None:
        raise Conflict("the site is archived")
    values = data.model_dump(exclude_unset=True)
    if not values:
        return current
    try:
        check_category(values.get("kind", current.kind), values.get("category", current.category))
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    if "org_id" in values:
        org = _org_path(conn, scope=scope, org_id=values["org_id"])
        if org["level"] not in SITE_LEVELS:
            raise BadRequest("sites belong to a sub-district, village, community or grid")
    query = compose(Q["update_site"], assignments=assignments(list(values)))
    conn.execute(query, {**values, "site_id": site_id})
    log_registry(
        conn,
        action="site_updated",
        actor=actor,
        site_id=site_id,
        detail={"fields": sorted(values)},
    )
    return read_site(conn, scope=scope, site_id=site_id)


def archive_site(
    conn: psycopg.Connection[Any], *, scope: Scope, site_id: int, actor: str | None
) -> SiteRead:
    """Archive a site (moved away, deceased, closed); detectors still bound must go first."""
    site = read_site(conn, scope=scope, site_id=site_id)
    if site.archived_at is not None:
        return site
    conn.execute(Q["lock_site"], {"site_id": site_id, "scope": list(scope)})
    if any(d.status != "removed" for d in site_devices(conn, scope=scope, site_id=site_id)):
        raise Conflict("remove or move the site's detectors before archiving it")
    conn.execute(Q["archive_site"], {"site_id": site_id})
    log_registry(conn, action="site_archived", actor=actor, site_id=site_id)
    return read_site(conn, scope=scope, site_id=site_id)
