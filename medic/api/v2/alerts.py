"""v2 alerts: query, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from medic.api.auth import get_medic, read_access, write_access
from medic.api.envelope import Envelope, Limit, Offset, envelope, page
from medic.api.v2.schemas import AlertOut
from medic.ops import alerts
from medic.ops.actor import Actor
from medic.runtime import Medic

router = APIRouter(prefix="/alerts", tags=["v2 alerts"])


@router.get("", response_model=Envelope, summary="List alerts (paged)")
def list_alerts(
    medic: Annotated[Medic, Depends(get_medic)],
    actor: Actor = Depends(read_access),
    active: bool | None = None,
    service_id: int | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    rows, total = alerts.list_alerts(
        medic.db, actor, active=active, service_id=service_id, limit=limit, offset=offset
    )
    return page([AlertOut.of(a).model_dump() for a in rows], total, limit, offset)


@router.get("/{alert_id}", response_model=Envelope, summary="One alert")
def get_alert(
    alert_id: int, medic: Annotated[Medic, Depends(get_medic)], actor: Actor = Depends(read_access)
) -> JSONResponse:
    return envelope(AlertOut.of(alerts.get_alert(medic.db, actor, alert_id)).model_dump())


@router.post(
    "/{alert_id}/acknowledge",
    response_model=Envelope,
    summary="Acknowledge an open alert (someone is on it); idempotent",
)
def acknowledge_alert(
    alert_id: int, medic: Annotated[Medic, Depends(get_medic)], actor: Actor = Depends(write_access)
) -> JSONResponse:
    alert = alerts.acknowledge(medic.db, actor, alert_id)
    return envelope(AlertOut.of(alert).model_dump(), "alert acknowledged")
