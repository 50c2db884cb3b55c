"""v2 job runs (SRE-15/16) and state history of one service: duration statistics,
its runs and its down/up changes, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from medic.api.auth import get_medic, read_access
from medic.api.envelope import Envelope, Limit, Offset, envelope, page
from medic.ops import runs
from medic.ops.actor import Actor
from medic.runtime import Medic

router = APIRouter(prefix="/services", tags=["v2 runs"])
MedicDep = Annotated[Medic, Depends(get_medic)]


@router.get(
    "/{service_id}/stats",
    response_model=Envelope,
    summary="Run duration statistics over the newest 100 runs (ms; nearest-rank percentiles)",
)
def run_stats(
    service_id: int, medic: MedicDep, actor: Actor = Depends(read_access)
) -> JSONResponse:
    return envelope(runs.run_stats(medic.db, actor, service_id).as_dict())


@router.get(
    "/{service_id}/runs", response_model=Envelope, summary="A service's job runs, newest first"
)
def list_runs(
    service_id: int,
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    rows, total = runs.list_runs(medic.db, actor, service_id, limit, offset)
    return page([row.as_dict() for row in rows], total, limit, offset)


@router.get(
    "/{service_id}/history",
    response_model=Envelope,
    summary="A service's state changes (down, up) with reasons, newest first",
)
def state_history(
    service_id: int,
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    rows, total = runs.state_history(medic.db, actor, service_id, limit, offset)
    return page([row.as_dict() for row in rows], total, limit, offset)
