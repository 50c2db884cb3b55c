"""v2 alerts: query, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from medic.api.auth import get_medic, read_access, write_access
from medic.ops import alerts
from medic.ops.actor import Actor
from medic.ops.alerts import AcknowledgeAlert, AlertView, GetAlert, ListAlerts
from medic.process import MedicProcess
from medic.web.envelope import Envelope, Limit, Offset, Page, envelope, page
from medic.web.params import IdFilter, row_id

router = APIRouter(prefix="/alerts", tags=["v2 alerts"])
AlertId = row_id("alert")


@router.get("", response_model=Envelope[Page[AlertView]], summary="List alerts (paged)")
def list_alerts(
    medic: Annotated[MedicProcess, Depends(get_medic)],
    actor: Actor = Depends(read_access),
    active: bool | None = None,
    service_id: IdFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    query = ListAlerts.of(active=active, service_id=service_id, limit=limit, offset=offset)
    rows, total = alerts.list_alerts(medic.context(actor), query)
    return page(rows, total, limit, offset)


@router.get("/{alert_id}", response_model=Envelope[AlertView], summary="One alert")
def get_alert(
    alert_id: AlertId,
    medic: Annotated[MedicProcess, Depends(get_medic)],
    actor: Actor = Depends(read_access),
) -> JSONResponse:
    return envelope(alerts.get_alert(medic.context(actor), GetAlert.of(alert_id=alert_id)))


@router.post(
    "/{alert_id}/acknowledge",
    response_model=Envelope[AlertView],
    summary="Acknowledge an open alert (someone is on it); idempotent",
)
def acknowledge_alert(
    alert_id: AlertId,
    medic: Annotated[MedicProcess, Depends(get_medic)],
    actor: Actor = Depends(write_access),
) -> JSONResponse:
    alert = alerts.acknowledge(medic.context(actor), AcknowledgeAlert.of(alert_id=alert_id))
    return envelope(alert, "alert acknowledged")
