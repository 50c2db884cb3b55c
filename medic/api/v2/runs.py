"""v2 job runs (SRE-15/16) and state history of one service: duration statistics,
its runs and its down/up changes, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from medic.api.auth import get_medic, read_access
from medic.ops import runs
from medic.ops.actor import Actor
from medic.ops.runs import (
    GetRunStats,
    ListRuns,
    ListStateChanges,
    RunStats,
    RunView,
    StateChangeView,
)
from medic.process import MedicProcess
from medic.web.envelope import Envelope, Limit, Offset, Page, envelope, page
from medic.web.params import row_id

router = APIRouter(prefix="/services", tags=["v2 runs"])
ServiceId = row_id("service")
MedicDep = Annotated[MedicProcess, Depends(get_medic)]


@router.get(
    "/{service_id}/stats",
    response_model=Envelope[RunStats],
    summary="Run duration statistics over the newest 100 runs (ms; nearest-rank percentiles)",
)
def run_stats(
    service_id: ServiceId, medic: MedicDep, actor: Actor = Depends(read_access)
) -> JSONResponse:
    stats = runs.run_stats(medic.context(actor), GetRunStats.of(service=service_id))
    return envelope(stats)


@router.get(
    "/{service_id}/runs",
    response_model=Envelope[Page[RunView]],
    summary="A service's job runs, newest first",
)
def list_runs(
    service_id: ServiceId,
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    query = ListRuns.of(service=service_id, limit=limit, offset=offset)
    rows, total = runs.list_runs(medic.context(actor), query)
    return page(rows, total, limit, offset)


@router.get(
    "/{service_id}/history",
    response_model=Envelope[Page[StateChangeView]],
    summary="A service's state changes (down, up) with reasons, newest first",
)
def state_history(
    service_id: ServiceId,
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    query = ListStateChanges.of(service=service_id, limit=limit, offset=offset)
    rows, total = runs.state_history(medic.context(actor), query)
    return page(rows, total, limit, offset)
