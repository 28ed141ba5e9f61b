"""``/api/v1/relative/{token}``: a relative's own household, no account needed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter

from api.deps import ConnDep, RelativeDep, SettingsDep
from api.errors import BadRequest, Conflict
from api.relative import service
from api.relative.schemas import RelativeResolve, RelativeView
from core.incidents import IncidentClosed, InvalidTransition, OutcomeRequired

router = APIRouter(prefix="/api/v1/relative", tags=["relative"])


@contextmanager
def lifecycle_errors() -> Iterator[None]:
    try:
        yield
    except (IncidentClosed, InvalidTransition, service.NoOpenIncident) as exc:
        raise Conflict(str(exc)) from exc
    except OutcomeRequired as exc:
        raise BadRequest(str(exc)) from exc


@router.get("/{token}", response_model=RelativeView)
def read_household(token: str, conn: ConnDep, caller: RelativeDep) -> RelativeView:
    """The alert (if any), the household and its detectors; 404 for any invalid link."""
    grant = service.grant_for(caller, token=token)
    return RelativeView.model_validate(service.view(conn, grant))


@router.post("/{token}/acknowledge", response_model=RelativeView)
def acknowledge_household_incident(
    token: str, conn: ConnDep, caller: RelativeDep, settings: SettingsDep
) -> RelativeView:
    """I have seen it and I am dealing with it: pending pages stop."""
    secret = settings.ack_secret.get_secret_value()
    grant = service.grant_for(caller, token=token)
    with lifecycle_errors():
        return RelativeView.model_validate(service.acknowledge(conn, grant, ack_secret=secret))


@router.post("/{token}/resolve", response_model=RelativeView)
def resolve_household_incident(
    token: str, body: RelativeResolve, conn: ConnDep, caller: RelativeDep, settings: SettingsDep
) -> RelativeView:
    """It is over: real fire, false alarm (with its cause), test or device fault."""
    secret = settings.ack_secret.get_secret_value()
    grant = service.grant_for(caller, token=token)
    with lifecycle_errors():
        view = service.resolve(
            conn, grant, ack_secret=secret, outcome=body.outcome, cause=body.false_alarm_cause,
            note=body.note,
        )  # fmt: skip
    return RelativeView.model_validate(view)
