"""Reading what Medic told whom: notifications, their deliveries and every attempt
(SRE-9 "delivery status tracking"). Target configurations are never shown: they
hold routing keys and webhook credentials."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from medic.models import Delivery, DeliveryAttempt, Notification
from medic.ops.errors import NotFound
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page


class AttemptView(BaseModel):
    attempt: int
    attempted_at: datetime
    succeeded: bool
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryView(BaseModel):
    delivery_id: int
    target_name: str
    target_kind: str
    mode: str
    status: str
    attempts: list[AttemptView]
    next_attempt_at: datetime | None
    finished_at: datetime | None


class NotificationView(BaseModel):
    notification_id: int
    kind: str
    service_id: int | None
    alert_id: int | None
    window_id: int | None
    created_at: datetime
    suppressed_by: str | None
    routed_at: datetime | None
    deliveries: list[DeliveryView]
    details: dict[str, Any]


class ListNotifications(Command):
    service_id: int | None = None
    alert_id: int | None = None
    kind: str | None = Field(default=None, description="alert.opened, alert.resolved, …")
    limit: int | None = Field(default=100, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)


class GetNotification(Command):
    notification_id: int


@operation("notification.list", scope="read")
def list_notifications(call: Call, query: ListNotifications) -> tuple[list[NotificationView], int]:
    """Newest first, each with its deliveries and their attempts."""
    statement = select(Notification)
    if query.service_id is not None:
        statement = statement.where(Notification.service_id == query.service_id)
    if query.alert_id is not None:
        statement = statement.where(Notification.alert_id == query.alert_id)
    if query.kind is not None:
        statement = statement.where(Notification.kind == query.kind)
    rows, total = fetch_page(
        call.session,
        statement,
        [col(Notification.notification_id).desc()],
        query.limit,
        query.offset,
    )
    return _views(call.session, rows), total


@operation("notification.get", scope="read")
def get_notification(call: Call, command: GetNotification) -> NotificationView:
    notification = call.session.get(Notification, command.notification_id)
    if notification is None:
        raise NotFound(f"no notification with id {command.notification_id}")
    return _views(call.session, [notification])[0]


def _views(session: Session, notifications: list[Notification]) -> list[NotificationView]:
    deliveries = session.exec(
        select(Delivery)
        .where(col(Delivery.notification_id).in_([n.notification_id for n in notifications]))
        .order_by(col(Delivery.position))
    ).all()
    attempts = session.exec(
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.delivery_id).in_([d.delivery_id for d in deliveries]))
        .order_by(col(DeliveryAttempt.attempt))
    ).all()
    return [_view(n, deliveries, attempts) for n in notifications]


def _view(
    notification: Notification,
    deliveries: Sequence[Delivery],
    attempts: Sequence[DeliveryAttempt],
) -> NotificationView:
    assert notification.notification_id is not None
    return NotificationView(
        notification_id=notification.notification_id,
        kind=notification.kind,
        service_id=notification.service_id,
        alert_id=notification.alert_id,
        window_id=notification.window_id,
        created_at=notification.created_at,
        suppressed_by=notification.suppressed_by,
        routed_at=notification.delivered_at,
        details=notification.details,
        deliveries=[
            DeliveryView(
                delivery_id=d.delivery_id or 0,
                target_name=d.target_name,
                target_kind=d.target_kind,
                mode=d.mode,
                status=d.status,
                next_attempt_at=d.next_attempt_at,
                finished_at=d.finished_at,
                attempts=[
                    AttemptView.model_validate(a, from_attributes=True)
                    for a in attempts
                    if a.delivery_id == d.delivery_id
                ],
            )
            for d in deliveries
            if d.notification_id == notification.notification_id
        ],
    )
