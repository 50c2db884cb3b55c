"""v2 notifications: what Medic told whom, each delivery and every attempt."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from medic.api.auth import get_medic, read_access
from medic.ops import notifications
from medic.ops.actor import Actor
from medic.ops.notifications import GetNotification, ListNotifications, NotificationView
from medic.process import MedicProcess
from medic.web.envelope import Envelope, Limit, Offset, Page, envelope, page
from medic.web.params import IdFilter, row_id

router = APIRouter(prefix="/notifications", tags=["v2 notifications"])
NotificationId = row_id("notification")
MedicDep = Annotated[MedicProcess, Depends(get_medic)]


@router.get(
    "",
    response_model=Envelope[Page[NotificationView]],
    summary="Notifications with their deliveries (paged)",
)
def list_notifications(
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    service_id: IdFilter = None,
    alert_id: IdFilter = None,
    kind: str | None = Query(None, description="alert.opened, alert.resolved, maintenance.…"),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    query = ListNotifications.of(
        service_id=service_id, alert_id=alert_id, kind=kind, limit=limit, offset=offset
    )
    rows, total = notifications.list_notifications(medic.context(actor), query)
    return page(rows, total, limit, offset)


@router.get(
    "/{notification_id}", response_model=Envelope[NotificationView], summary="One notification"
)
def get_notification(
    notification_id: NotificationId, medic: MedicDep, actor: Actor = Depends(read_access)
) -> JSONResponse:
    command = GetNotification.of(notification_id=notification_id)
    return envelope(notifications.get_notification(medic.context(actor), command))
