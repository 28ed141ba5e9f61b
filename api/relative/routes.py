"""``/api/v1/relative/{token}``: a relative's own household, no account needed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter

from api.deps import ConnDep, RelativeDep, SettingsDep
from api.errors import BadRequest, Conflict, Forbidden
from api.relative import service
from api.relative.schemas import RelativeResolve, RelativeView
from core.incidents import FieldCannotClose, IncidentClosed, InvalidTransition, OutcomeRequired

router = APIRouter(prefix="/api/v1/relative", tags=["relative"])


class CentreCloses(Forbidden):
    """Only the monitoring centre closes a fire or heat incident; a link sends a report."""

    code = "centre_closes"
    default_message = (
        "only the monitoring centre closes a fire or heat incident;"
        " POST /api/v1/relative/{token}/report what you found"
    )


@contextmanager
def lifecycle_errors() -> Iterator[None]:
    try:
        yield
    except FieldCannotClose as exc:
        raise CentreCloses() from exc
    except (IncidentClosed, InvalidTransition, service.NoOpenIncident) as exc:
        raise Conflict(str(exc)) from exc
    except OutcomeRequired as exc:
        raise BadRequest(str(exc)) from exc


def _shown(view: dict[str, object], settings: SettingsDep) -> RelativeView:
    """The view with the monitoring centre's number, which the deployment configures."""
    return RelativeView.model_validate({**view, "centre_phone": settings.api_centre_phone})


@router.get("/{token}", response_model=RelativeView)
def read_household(
    token: str, conn: ConnDep, caller: RelativeDep, settings: SettingsDep
) -> RelativeView:
    """The alert (if any), who was told, the household and its detectors; 404 for any
    invalid link."""
    grant = service.grant_for(caller, token=token)
    return _shown(service.view(conn, grant), settings)


@router.post("/{token}/acknowledge", response_model=RelativeView)
def acknowledge_household_incident(
    token: str, conn: ConnDep, caller: RelativeDep, settings: SettingsDep
) -> RelativeView:
    """I am on my way: pending pages stop. The monitoring centre still acknowledges and
    closes the incident; its board keeps ringing until an operator acknowledges."""
    secret = settings.ack_secret.get_secret_value()
    grant = service.grant_for(caller, token=token)
    with lifecycle_errors():
        return _shown(service.acknowledge(conn, grant, ack_secret=secret), settings)


@router.post("/{token}/report", response_model=RelativeView)
def create_household_report(
    token: str, body: RelativeResolve, conn: ConnDep, caller: RelativeDep, settings: SettingsDep
) -> RelativeView:
    """What I found: real fire, false alarm (with its cause), test or device fault, and a note.
    The incident becomes ``reported`` and stays open until the monitoring centre closes it."""
    secret = settings.ack_secret.get_secret_value()
    grant = service.grant_for(caller, token=token)
    with lifecycle_errors():
        view = service.report(
            conn, grant, ack_secret=secret, outcome=body.outcome, cause=body.false_alarm_cause,
            note=body.note,
        )  # fmt: skip
    return _shown(view, settings)


@router.post("/{token}/resolve", response_model=RelativeView)
def resolve_household_incident(
    token: str, body: RelativeResolve, conn: ConnDep, caller: RelativeDep, settings: SettingsDep
) -> RelativeView:
    """Close a tamper incident after the visit. A fire or heat incident answers 403
    ``centre_closes``: only the monitoring centre closes it; send a report instead."""
    secret = settings.ack_secret.get_secret_value()
    grant = service.grant_for(caller, token=token)
    with lifecycle_errors():
        view = service.resolve(
            conn, grant, ack_secret=secret, outcome=body.outcome, cause=body.false_alarm_cause,
            note=body.note,
        )  # fmt: skip
    return _shown(view, settings)
