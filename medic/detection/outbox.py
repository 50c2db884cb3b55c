"""Relaying the notification outbox to the broker.

Messages carry only the notification id. A notification is sent after the
transaction that created it commits, again if it is still undelivered a while
later (the message was lost: a crash, the in-memory broker of a stopped
`medic up`), and all undelivered ones at every scheduler start. Delivery is
idempotent (medic.notify.outbox), so sending twice is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import col, or_, select, update

from medic.db import Database
from medic.models import Notification

log = logging.getLogger(__name__)

RESEND_AFTER = timedelta(minutes=1)
MAX_RESEND_AFTER = timedelta(hours=1)
BATCH = 500


def resend_after(attempts: int) -> timedelta:
    """Back off between re-sends: 1, 2, 4 … minutes, at most an hour."""
    return min(MAX_RESEND_AFTER, RESEND_AFTER * 2 ** max(0, attempts - 1))


def relay(
    db: Database, send: Callable[[int], None], now: datetime, everything: bool = False
) -> int:
    """Send undelivered notifications not sent recently (`everything`: regardless)."""
    sent = 0
    while True:
        with db.session() as session:
            statement = (
                select(
                    Notification.notification_id, Notification.enqueued_at, Notification.attempts
                )
                .where(col(Notification.delivered_at).is_(None))
                .where(col(Notification.suppressed_by).is_(None))
                .order_by(col(Notification.notification_id))
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            if not everything:
                statement = statement.where(
                    or_(
                        col(Notification.enqueued_at).is_(None),
                        col(Notification.enqueued_at) <= now - RESEND_AFTER,
                    )
                )
            rows = session.exec(statement).all()
            due = [
                notification_id
                for notification_id, enqueued_at, attempts in rows
                if everything or enqueued_at is None or enqueued_at <= now - resend_after(attempts)
            ]
            for notification_id in due:
                send(notification_id)
            if due:
                session.exec(
                    update(Notification)
                    .where(col(Notification.notification_id).in_(due))
                    .values(enqueued_at=now, attempts=Notification.attempts + 1)
                )
        sent += len(due)
        if len(rows) < BATCH or not due:
            return sent
