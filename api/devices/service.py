"""Devices: register, list by state, read, bind to a site, replace and remove.

History is never deleted: a removed detector keeps its site, room, events and incidents, and
``registry_log`` records who bound, replaced or removed what and when.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.errors import UniqueViolation

from api.devices import credentials
from api.devices.credentials import Issuer
from api.devices.schemas import (
    BindingUpdate,
    DeviceCreate,
    DeviceModelRead,
    DeviceRead,
    DeviceRegistered,
    DeviceRemove,
    DeviceReplace,
    DeviceReplaced,
    DiscoveredDevice,
    Identity,
    IdentityUpdate,
    MqttCredentials,
)
from api.errors import BadRequest, Conflict, NotFound
from api.lists import ListParams, Page, fetch_page, order_by
from api.registry_common import Scope, compose, log_registry
from core.codecs.identity import normalise
from core.db import load_queries

Q = load_queries("api.devices", "queries.sql")


class BoundElsewhere(Conflict):
    """The detector is bound to another site and the caller did not confirm moving it."""

    code = "bound_elsewhere"


SORTS = {
    "id": "d.id",
    "status": "d.status",
    "created_at": "d.created_at",
    "installed_at": "d.installed_at",
    "last_seen": "ds.last_seen",
    "battery_pct": "ds.battery_pct",
    "signal_dbm": "ds.signal_dbm",
}
_FILTERS = ("device_id", "status", "site_id", "org_path", "model_code", "q", "unbound", "state")


def _params(*, scope: Scope, include_removed: bool = False, **filters: Any) -> dict[str, Any]:
    params: dict[str, Any] = dict.fromkeys(_FILTERS)
    params.update(filters)
    params.update(scope=list(scope), include_removed=include_removed)
    return params


def _rows_query(sort: str = "id") -> sql.Composed:
    return compose(
        Q["device_rows"], where=compose(Q["filter_clause"]), order=order_by(sort, SORTS, "id")
    )


def _query(
    conn: psycopg.Connection[Any], *, scope: Scope, limit: int, **filters: Any
) -> list[dict[str, Any]]:
    params = {**_params(scope=scope, **filters), "limit": limit, "offset": 0}
    return [dict(r) for r in conn.execute(_rows_query(), params).fetchall()]


def list_devices(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    state: str | None = None,
    status: str | None = None,
    site_id: int | None = None,
    org_id: int | None = None,
    model_code: str | None = None,
    q: str | None = None,
    unbound: bool | None = None,
    include_removed: bool = False,
    sort: str = "id",
    limit: int = 50,
    offset: int = 0,
) -> Page[DeviceRead]:
    """Devices in scope (and unbound stock), filtered by health state, status, place or model."""
    org_path = None
    if org_id is not None:
        org = conn.execute(Q["org_in_scope"], {"org_id": org_id, "scope": list(scope)}).fetchone()
        if org is None:
            raise NotFound("no such organisation")
        org_path = org["path"]
    params = _params(
        scope=scope,
        include_removed=include_removed,
        state=state,
        status=status,
        site_id=site_id,
        org_path=org_path,
        model_code=model_code,
        q=f"%{_escape_like(q)}%" if q else None,
        unbound=unbound,
    )
    return fetch_page(
        conn, _rows_query(sort), params, page=ListParams(limit=limit, offset=offset, sort=sort),
        model=DeviceRead, item=DeviceRead.from_row,
        count=compose(Q["count_devices"], where=compose(Q["filter_clause"])),
    )  # fmt: skip


def read_device(conn: psycopg.Connection[Any], *, scope: Scope, device_id: str) -> DeviceRead:
    """One device with its state; 404 when unknown or bound outside the caller's scope."""
    rows = _query(conn, scope=scope, device_id=device_id, limit=1, include_removed=True)
    if not rows:
        raise NotFound("no such device")
    return DeviceRead.from_row(rows[0])


def site_devices(conn: psycopg.Connection[Any], *, scope: Scope, site_id: int) -> list[DeviceRead]:
    """Every device of a site, removed ones last (the household file)."""
    rows = _query(conn, scope=scope, site_id=site_id, limit=500, include_removed=True)
    rows.sort(key=lambda r: (r["status"] == "removed", r["room"] or "", r["id"]))
    return [DeviceRead.from_row(r) for r in rows]


def _lock(conn: psycopg.Connection[Any], *, scope: Scope, device_id: str) -> dict[str, Any]:
    row = conn.execute(Q["lock_device"], {"device_id": device_id, "scope": list(scope)}).fetchone()
    if row is None:
        raise NotFound("no such device")
    return dict(row)


def _insert(
    conn: psycopg.Connection[Any],
    *,
    device_id: str,
    model_code: str,
    identities: list[Identity],
    notes: str | None,
    actor: str | None,
    issuer: Issuer,
    stock_org_id: int | None = None,
) -> MqttCredentials:
    model = conn.execute(Q["model_exists"], {"model_code": model_code}).fetchone()
    if model is None:
        raise BadRequest(f"unknown model_code {model_code!r}")
    for identity in identities:
        if identity.codec not in ("native", model["codec"]):
            raise BadRequest(
                f"型号 {model_code} 使用 {model['codec']}，不能登记 {identity.codec} 标识 / "
                f"model {model_code} speaks {model['codec']}, not {identity.codec}"
            )
    with conn.transaction():
        row = conn.execute(
            Q["insert_device"],
            {
                "id": device_id,
                "model_code": model_code,
                "notes": notes,
                "stock_org_id": stock_org_id,
            },
        ).fetchone()
        if row is None:
            raise Conflict(f"device {device_id} is already registered")
        for identity in identities:
            added = conn.execute(
                Q["insert_identity"], {**identity.model_dump(), "device_id": device_id}
            ).fetchone()
            if added is None:
                raise Conflict(
                    f"{identity.codec} identity {identity.external_id!r} belongs to another device"
                )
        secret = credentials.issue(conn, device_id=device_id, issuer=issuer)
        log_registry(
            conn,
            action="device_registered",
            actor=actor,
            device_id=device_id,
            detail={"model_code": model_code},
        )
    return secret


def register_device(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    data: DeviceCreate,
    actor: str | None,
    issuer: Issuer,
    stock_org_id: int | None,
) -> DeviceRegistered:
    """Register a detector and issue its MQTT credentials (the password only in this answer).

    Until bound it is in the stock of ``stock_org_id`` (the caller's organisation; None for an
    unscoped administrator: shared stock)."""
    try:
        secret = _insert(
            conn,
            device_id=data.id,
            model_code=data.model_code,
            identities=data.identities,
            notes=data.notes,
            actor=actor,
            issuer=issuer,
            stock_org_id=stock_org_id,
        )
    except UniqueViolation as exc:
        raise Conflict(f"device {data.id} is already registered") from exc
    device = read_device(conn, scope=scope, device_id=data.id)
    return DeviceRegistered(**device.model_dump(), mqtt=secret)


def bind_device(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    device_id: str,
    data: BindingUpdate,
    actor: str | None,
) -> DeviceRead:
    """Hang the detector at a site and room; another site means a new commissioning test."""
    device = _lock(conn, scope=scope, device_id=device_id)
    if device["status"] == "removed":
        raise Conflict("the device was removed; register a new one or replace it")
    site = conn.execute(
        Q["bindable_site"], {"site_id": data.site_id, "scope": list(scope)}
    ).fetchone()
    if site is None:
        raise NotFound("no such site")
    moving = device["site_id"] is not None and device["site_id"] != data.site_id
    if moving and not data.move:
        text = _bound_elsewhere_text(conn, device_id=device_id, site_id=device["site_id"])
        raise BoundElsewhere(text)
    values = data.model_dump(exclude={"move"})
    conn.execute(Q["bind_device"], {**values, "device_id": device_id, "actor": actor})
    if moving:
        log_registry(
            conn,
            action="device_unbound",
            actor=actor,
            site_id=device["site_id"],
            device_id=device_id,
            detail={
                "moved_to_site": data.site_id,
                "moved_to_name": site["name"],
                "moved_to_address": site["address"],
                "room": device["room"],
            },
        )
    log_registry(
        conn,
        action="device_bound",
        actor=actor,
        site_id=data.site_id,
        device_id=device_id,
        detail={"room": data.room, "position": data.position},
    )
    return read_device(conn, scope=scope, device_id=device_id)


def _bound_elsewhere_text(conn: psycopg.Connection[Any], *, device_id: str, site_id: int) -> str:
    where = conn.execute(Q["site_label"], {"site_id": site_id}).fetchone()
    name = where["label"] if where else f"#{site_id}"
    return (
        f"探测器 {device_id} 已绑定在 {name}；移机须确认，原住户将失去这个探测器 / "
        f"detector {device_id} is bound to {name}; moving it needs confirmation, "
        "and that household loses this detector"
    )


def replace_device(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    device_id: str,
    data: DeviceReplace,
    actor: str | None,
    issuer: Issuer,
) -> DeviceReplaced:
    """The new detector takes the old one's site, room and position; the old one is removed."""
    old = _lock(conn, scope=scope, device_id=device_id)
    if old["status"] == "removed":
        raise Conflict("the device was already removed")
    if data.new_id == device_id:
        raise BadRequest("a device cannot replace itself")
    if old["site_id"] is None:
        raise Conflict("the device is not bound to a site; bind the new one instead")
    secret: MqttCredentials | None = None
    if data.model_code is not None:
        secret = _insert(
            conn,
            device_id=data.new_id,
            model_code=data.model_code,
            identities=data.identities,
            notes=None,
            actor=actor,
            issuer=issuer,
        )
    new = _lock(conn, scope=scope, device_id=data.new_id)
    if new["status"] == "removed" or new["site_id"] is not None:
        raise Conflict(f"device {data.new_id} is not in stock (bound or removed)")
    conn.execute(
        Q["take_place"],
        {
            "device_id": data.new_id,
            "site_id": old["site_id"],
            "room": old["room"],
            "position": old["position"],
            "old_id": device_id,
            "actor": actor,
        },
    )
    closed = _retire(conn, device_id=device_id, issuer=issuer, reason="device_replaced")
    detail = {
        "old": device_id,
        "new": data.new_id,
        "room": old["room"],
        "reason": data.reason,
        "closed_work_orders": closed,
    }
    for subject in (device_id, data.new_id):
        log_registry(
            conn,
            action="device_replaced",
            actor=actor,
            site_id=old["site_id"],
            device_id=subject,
            detail=detail,
        )
    return DeviceReplaced(
        old=read_device(conn, scope=scope, device_id=device_id),
        new=read_device(conn, scope=scope, device_id=data.new_id),
        mqtt=secret,
    )


def _retire(
    conn: psycopg.Connection[Any], *, device_id: str, issuer: Issuer, reason: str
) -> list[int]:
    """Removed: no longer watched, credentials revoked, open work orders closed."""
    conn.execute(Q["remove_device"], {"device_id": device_id})
    conn.execute(Q["retire_state"], {"device_id": device_id})
    credentials.revoke(conn, device_id=device_id, issuer=issuer)
    closed = conn.execute(
        Q["close_work_orders"], {"device_id": device_id, "reason": reason}
    ).fetchall()
    return [int(r["id"]) for r in closed]


def remove_device(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    device_id: str,
    data: DeviceRemove,
    actor: str | None,
    issuer: Issuer,
) -> DeviceRead:
    """Take a detector out of service: status removed, credentials revoked, history kept."""
    device = _lock(conn, scope=scope, device_id=device_id)
    if device["status"] != "removed":
        closed = _retire(conn, device_id=device_id, issuer=issuer, reason="device_removed")
        log_registry(
            conn,
            action="device_removed",
            actor=actor,
            site_id=device["site_id"],
            device_id=device_id,
            detail={"reason": data.reason, "room": device["room"], "closed_work_orders": closed},
        )
    return read_device(conn, scope=scope, device_id=device_id)


def update_identity(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    device_id: str,
    codec: str,
    data: IdentityUpdate,
    actor: str | None,
) -> DeviceRead:
    """Set (or correct) the device's identity for ``codec``; the old one stays in the history."""
    try:
        external_id = normalise(codec, data.external_id)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    device = _lock(conn, scope=scope, device_id=device_id)
    if device["status"] == "removed":
        raise Conflict("the device was removed; its identities are history")
    model = conn.execute(Q["model_exists"], {"model_code": device["model_code"]}).fetchone()
    if model is None or codec not in ("native", model["codec"]):
        raise BadRequest(
            f"型号 {device['model_code']} 不使用 {codec} / "
            f"model {device['model_code']} does not speak {codec}"
        )
    owner = conn.execute(
        Q["identity_owner"], {"codec": codec, "external_id": external_id}
    ).fetchone()
    if owner is not None and owner["device_id"] != device_id:
        other = owner["device_id"]
        raise Conflict(
            f"{codec} 标识 {external_id} 已属于设备 {other} / "
            f"{codec} identity {external_id!r} belongs to device {other}"
        )
    old = conn.execute(Q["device_identity"], {"device_id": device_id, "codec": codec}).fetchone()
    params = {"device_id": device_id, "codec": codec, "external_id": external_id}
    if old is None:
        conn.execute(Q["insert_identity"], params)
    elif old["external_id"] != external_id:
        conn.execute(Q["change_identity"], params)
        conn.execute(Q["forget_codec_state"], {"codec": codec, "external_id": old["external_id"]})
    if old is None or old["external_id"] != external_id:
        log_registry(
            conn,
            action="identity_changed",
            actor=actor,
            site_id=device["site_id"],
            device_id=device_id,
            detail={
                "codec": codec,
                "old": old["external_id"] if old is not None else None,
                "new": external_id,
                "reason": data.reason,
            },
        )
    return read_device(conn, scope=scope, device_id=device_id)


def list_models(conn: psycopg.Connection[Any]) -> list[DeviceModelRead]:
    """Every detector model, for the installer's picker."""
    return [DeviceModelRead(**row) for row in conn.execute(Q["device_models"]).fetchall()]


def list_discovered(
    conn: psycopg.Connection[Any], *, unregistered: bool | None, limit: int, offset: int
) -> list[DiscoveredDevice]:
    """Detectors that announced themselves (Home Assistant discovery), for installers."""
    rows = conn.execute(
        Q["discovered_devices"], {"unregistered": unregistered, "limit": limit, "offset": offset}
    ).fetchall()
    out = []
    for row in rows:
        device = row["device"] if isinstance(row["device"], dict) else {}
        out.append(
            DiscoveredDevice(
                codec="homeassistant",
                device_key=row["device_key"],
                name=_str_or_none(device.get("name")),
                manufacturer=_str_or_none(device.get("manufacturer")),
                model=_str_or_none(device.get("model")),
                sw_version=_str_or_none(device.get("sw_version")),
                smoke_detector=bool(row["smoke_detector"]),
                registered_device_id=row["registered_device_id"],
                last_seen=row["last_seen"],
                entities=row["entities"],
            )
        )
    return out


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)[:200]


def _escape_like(text: str) -> str:
    # LIKE's default escape character is the backslash: '%' and '_' typed in a search are
    # literal characters, not wildcards.
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
