"""``/api/v1/handovers``: the monitoring centre's shift handover log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnDep, OperatorDep, WatcherDep
from api.handover import service
from api.handover.schemas import HandoverCreate, HandoverRead

router = APIRouter(prefix="/api/v1/handovers", tags=["handover"])


@router.get("", response_model=list[HandoverRead])
def read_handovers(
    *,
    conn: ConnDep,
    caller: WatcherDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[HandoverRead]:
    """What earlier shifts handed over, newest first."""
    return service.list_handovers(conn, scope=caller.scope_like(), limit=limit, offset=offset)


@router.post("", response_model=HandoverRead, status_code=201)
def create_handover(data: HandoverCreate, conn: ConnDep, caller: OperatorDep) -> HandoverRead:
    """Hand over to the next shift: the note, signed by the caller."""
    return service.create_handover(
        conn,
        scope=caller.scope_like(),
        org_id=caller.org_id,
        author=caller.actor,
        data=data,
    )
