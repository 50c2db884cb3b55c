"""v2 maintenance windows: create, list, look up, delete. Windows silence notifications
(never state) for the services they cover while open."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from medic.api.auth import get_medic, read_access, write_access
from medic.api.v2.schemas import DeletedWindow
from medic.ops import maintenance
from medic.ops.actor import Actor
from medic.ops.maintenance import (
    CreateWindow,
    DeleteWindow,
    GetWindow,
    ListWindows,
    WindowView,
)
from medic.process import MedicProcess
from medic.web.envelope import Envelope, Limit, Offset, Page, envelope, page
from medic.web.params import row_id

router = APIRouter(prefix="/maintenance-windows", tags=["v2 maintenance windows"])
WindowId = row_id("maintenance window")
MedicDep = Annotated[MedicProcess, Depends(get_medic)]


@router.get(
    "",
    response_model=Envelope[Page[WindowView]],
    summary="List maintenance windows (paged)",
)
def list_windows(
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    active: bool = Query(False, description="only windows open now"),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    query = ListWindows.of(active=active, limit=limit, offset=offset)
    windows, total = maintenance.list_windows(medic.context(actor), query)
    return page(windows, total, limit, offset)


@router.post(
    "",
    status_code=201,
    response_model=Envelope[WindowView],
    summary="Create a one-time or recurring maintenance window",
)
def create_window(
    command: CreateWindow, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    window = maintenance.create_window(medic.context(actor), command)
    return envelope(window, "maintenance window created", 201)


@router.get("/{window_id}", response_model=Envelope[WindowView], summary="One maintenance window")
def get_window(
    window_id: WindowId, medic: MedicDep, actor: Actor = Depends(read_access)
) -> JSONResponse:
    window = maintenance.get_window(medic.context(actor), GetWindow.of(window_id=window_id))
    return envelope(window)


@router.delete(
    "/{window_id}",
    response_model=Envelope[DeletedWindow],
    summary="Delete a maintenance window (announces its end if it was in progress)",
)
def delete_window(
    window_id: WindowId, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    command = DeleteWindow.of(window_id=window_id)
    window = maintenance.delete_window(medic.context(actor), command)
    ended = " and announced its end" if window.in_progress else ""
    return envelope(DeletedWindow(window_id=window_id), f"maintenance window deleted{ended}")
