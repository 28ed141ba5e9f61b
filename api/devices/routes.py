"""``/api/v1/devices``: register, list by state, read, bind, replace, remove."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query

from api.deps import ConnDep, FieldWorkerDep, OperatorDep, PasswordsDep, SettingsDep, StaffDep
from api.devices import service
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
    IdentityCodec,
    IdentityUpdate,
    Status,
)
from api.lists import Page

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


def get_issuer(settings: SettingsDep, passwords: PasswordsDep) -> Issuer:
    """Settings and hasher for issuing and revoking MQTT credentials."""
    return Issuer(settings, passwords)


IssuerDep = Annotated[Issuer, Depends(get_issuer)]

StateFilter = Literal[
    "alarm", "tamper", "fault", "offline", "low_battery", "never_seen", "online", "ok"
]


@router.get("", response_model=Page[DeviceRead])
def read_devices(
    *,
    caller: StaffDep,
    conn: ConnDep,
    state: StateFilter | None = None,
    status: Status | None = None,
    site_id: int | None = None,
    org_id: int | None = None,
    model_code: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    unbound: bool | None = None,
    include_removed: bool = False,
    sort: Annotated[str, Query(max_length=40)] = "id",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[DeviceRead]:
    """Devices in scope and unbound stock; ``state`` filters by health (from device_state)."""
    return service.list_devices(
        conn,
        scope=caller.scope_like(),
        state=state,
        status=status,
        site_id=site_id,
        org_id=org_id,
        model_code=model_code,
        q=q,
        unbound=unbound,
        include_removed=include_removed,
        sort=sort,
        limit=limit,
        offset=offset,
    )


@router.get("/models", response_model=list[DeviceModelRead])
def read_device_models(caller: StaffDep, conn: ConnDep) -> list[DeviceModelRead]:
    """Detector models and the codec each speaks (the installer picks one on registration)."""
    del caller
    return service.list_models(conn)


@router.get("/discovered", response_model=list[DiscoveredDevice])
def read_discovered_devices(
    *,
    caller: FieldWorkerDep,
    conn: ConnDep,
    unregistered: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[DiscoveredDevice]:
    """Detectors that announced themselves by Home Assistant MQTT discovery (to register)."""
    del caller  # any field worker may see what the brokers announce
    return service.list_discovered(conn, unregistered=unregistered, limit=limit, offset=offset)


@router.get("/{device_id}", response_model=DeviceRead)
def read_device(device_id: str, caller: StaffDep, conn: ConnDep) -> DeviceRead:
    """One device with its model, place, commissioning record and state."""
    return service.read_device(conn, scope=caller.scope_like(), device_id=device_id)


@router.post("", response_model=DeviceRegistered, status_code=201)
def create_device(
    data: DeviceCreate,
    caller: FieldWorkerDep,
    conn: ConnDep,
    issuer: IssuerDep,
) -> DeviceRegistered:
    """Register a detector; the answer carries its MQTT password, this once only."""
    return service.register_device(
        conn,
        scope=caller.scope_like(),
        data=data,
        actor=caller.actor,
        issuer=issuer,
        stock_org_id=caller.org_id,
    )


@router.put("/{device_id}/binding", response_model=DeviceRead)
def update_binding(
    device_id: str, data: BindingUpdate, caller: FieldWorkerDep, conn: ConnDep
) -> DeviceRead:
    """Bind to a site, room and position; another site means a new commissioning test."""
    return service.bind_device(
        conn, scope=caller.scope_like(), device_id=device_id, data=data, actor=caller.actor
    )


@router.put("/{device_id}/identities/{codec}", response_model=DeviceRead)
def update_identity(
    device_id: str,
    codec: IdentityCodec,
    data: IdentityUpdate,
    caller: FieldWorkerDep,
    conn: ConnDep,
) -> DeviceRead:
    """Register or correct the detector's id on a vendor network; the history keeps the old."""
    return service.update_identity(
        conn,
        scope=caller.scope_like(),
        device_id=device_id,
        codec=codec,
        data=data,
        actor=caller.actor,
    )


@router.post("/{device_id}/replace", response_model=DeviceReplaced)
def replace_device(
    device_id: str,
    data: DeviceReplace,
    caller: FieldWorkerDep,
    conn: ConnDep,
    issuer: IssuerDep,
) -> DeviceReplaced:
    """The new detector takes this one's place; this one is removed, history kept."""
    return service.replace_device(
        conn,
        scope=caller.scope_like(),
        device_id=device_id,
        data=data,
        actor=caller.actor,
        issuer=issuer,
    )


@router.delete("/{device_id}", response_model=DeviceRead)
def delete_device(
    device_id: str,
    caller: OperatorDep,
    conn: ConnDep,
    issuer: IssuerDep,
    data: Annotated[DeviceRemove | None, Body()] = None,
) -> DeviceRead:
    """Take the detector out of service: removed, credentials revoked, history kept."""
    return service.remove_device(
        conn,
        scope=caller.scope_like(),
        device_id=device_id,
        data=data or DeviceRemove(),
        actor=caller.actor,
        issuer=issuer,
    )
