"""``/api/v1/relative/{token}``: a relative's own household, no account needed."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ConnDep, RelativeDep, SettingsDep
from api.relative import service
from api.relative.schemas import RelativeResolve, RelativeView

router = APIRouter(prefix="/api/v1/relative", tags=["relative"])


def _shown(view: dict[str, object], settings: SettingsDep) -> RelativeView:
    """The view with the monitoring centre's number, which the deployment configures."""
    return RelativeView.model_validate({**view, "centre_phone": settings.api_centre_phone})


@router.get("/{token}", response_model=RelativeView)
def read_household(
    token: str, conn: ConnDep, caller: RelativeDep, settings: SettingsDep
) -> RelativeView:
    """The alert (if any), who was told, the household and its detectors; 404 for any
    invalid link."""
    grant = service.grant_for(caller)
    return _shown(service.view(conn, grant), settings)


@router.post("/{token}/acknowledge", response_model=RelativeView)
def acknowledge_household_incident(
    token: str, conn: ConnDep, caller: RelativeDep, settings: SettingsDep
) -> RelativeView:
    """I am on my way: pending pages stop. The monitoring centre still acknowledges and
    closes the incident; its board keeps ringing until an operator acknowledges."""
    grant = service.grant_for(caller)
    return _shown(service.acknowledge(conn, grant), settings)


@router.post("/{token}/report", response_model=RelativeView)
def create_household_report(
    token: str, body: RelativeResolve, conn: ConnDep, caller: RelativeDep, settings: SettingsDep
) -> RelativeView:
    """What I found: real fire, false alarm (with its cause), test or device fault, and a note.
    The incident becomes ``reported`` and stays open until the monitoring centre closes it."""
    grant = service.grant_for(caller)
    view = service.report(
        conn, grant, outcome=body.outcome, cause=body.false_alarm_cause, note=body.note
    )
    return _shown(view, settings)


@router.post("/{token}/resolve", response_model=RelativeView)
def resolve_household_incident(
    token: str, body: RelativeResolve, conn: ConnDep, caller: RelativeDep, settings: SettingsDep
) -> RelativeView:
    """Close a tamper incident after the visit. A fire or heat incident answers 403
    ``centre_closes``: only the monitoring centre closes it; send a report instead."""
    grant = service.grant_for(caller)
    view = service.resolve(
        conn, grant, outcome=body.outcome, cause=body.false_alarm_cause, note=body.note
    )
    return _shown(view, settings)
