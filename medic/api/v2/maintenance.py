"""v2 maintenance windows: create, list, look up, delete. Windows silence notifications
(never state) for the services they cover while open."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from medic.api.auth import get_medic, read_access, write_access
from medic.api.envelope import Envelope, Limit, Offset, envelope, page
from medic.ops import maintenance
from medic.ops.actor import Actor
from medic.runtime import Medic

router = APIRouter(prefix="/maintenance-windows", tags=["v2 maintenance windows"])
MedicDep = Annotated[Medic, Depends(get_medic)]


def _out(window: object, now: datetime | None = None) -> dict:
    return maintenance.WindowView.of(window, now).model_dump()  # type: ignore[arg-type]


@router.get("", response_model=Envelope, summary="List maintenance windows (paged)")
def list_windows(
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    active: bool = Query(False, description="only windows open now"),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    windows = maintenance.list_windows(medic.db, actor, active_only=active)
    now = datetime.now(UTC)
    items = [_out(w, now) for w in windows[offset : offset + limit]]
    return page(items, len(windows), limit, offset)


@router.post(
    "",
    status_code=201,
    response_model=Envelope,
    summary="Create a one-time or recurring maintenance window",
)
def create_window(
    spec: maintenance.WindowSpec, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    window = maintenance.create_window(medic.db, actor, spec, medic.settings.medic_timezone)
    return envelope(_out(window), "maintenance window created", 201)


@router.get("/{window_id}", response_model=Envelope, summary="One maintenance window")
def get_window(
    window_id: int, medic: MedicDep, actor: Actor = Depends(read_access)
) -> JSONResponse:
    return envelope(_out(maintenance.get_window(medic.db, actor, window_id)))


@router.delete(
    "/{window_id}",
    response_model=Envelope,
    summary="Delete a maintenance window (announces its end if it was in progress)",
)
def delete_window(
    window_id: int, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    window = maintenance.delete_window(medic.db, actor, window_id)
    ended = " and announced its end" if window.in_progress else ""
    return envelope({"window_id": window_id}, f"maintenance window deleted{ended}")
