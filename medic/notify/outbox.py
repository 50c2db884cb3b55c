"""Delivering one outbox notification, at most once however often it is asked.

Until the Slack, PagerDuty and webhook channels exist, delivery records the event
as delivered and logs it as one line of structured JSON (logger `medic.notify`).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from sqlmodel import select

from medic.db import Database
from medic.models import Notification

log = logging.getLogger("medic.notify")


def deliver(db: Database, notification_id: int) -> str | None:
    """The notification's kind when this call delivered it; None when it was delivered
    (or suppressed, or deleted) already.

    The row lock makes concurrent deliveries of one notification take turns, and the
    second finds it delivered."""
    with db.session() as session:
        notification = session.exec(
            select(Notification)
            .where(Notification.notification_id == notification_id)
            .with_for_update()
        ).first()
        if notification is None or notification.delivered_at is not None:
            return None
        if notification.suppressed_by is not None:
            return None
        notification.delivered_at = datetime.now(UTC)
        session.add(notification)
        log.info(json.dumps(describe(notification), sort_keys=True))
        return notification.kind


def describe(notification: Notification) -> dict[str, object]:
    return {
        "event": notification.kind,
        "notification_id": notification.notification_id,
        "service_id": notification.service_id,
        "alert_id": notification.alert_id,
        "window_id": notification.window_id,
        "created_at": notification.created_at.isoformat(),
        **notification.details,
    }
