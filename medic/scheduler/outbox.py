"""Relaying the notification outbox to the broker.

Messages carry only the notification id. A notification is sent after the
transaction that created it commits, again if it is still undelivered a while
later (the message was lost: a crash, the in-memory broker of a stopped
`medic up`), and all undelivered ones at every scheduler start. Planning and
delivering are idempotent (medic.notify), so sending twice is harmless.

Deliveries get the same care: one still pending a minute after it was due lost its
message (or its worker died mid-send) and is sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, SQLModel, col, or_, select

from medic.core.executions import UNFINISHED_STATES
from medic.db import Database
from medic.models import Delivery, Execution, Notification
from medic.scheduler.bulk import update_rows

log = logging.getLogger(__name__)

RESEND_AFTER = timedelta(minutes=1)
MAX_RESEND_AFTER = timedelta(hours=1)
BATCH = 500
DELIVERY_LOST_AFTER = timedelta(minutes=1)


def resend_after(attempts: int) -> timedelta:
    """Back off between re-sends: 1, 2, 4 … minutes, at most an hour."""
    return min(MAX_RESEND_AFTER, RESEND_AFTER * 2 ** max(0, attempts - 1))


def relay(
    db: Database, send: Callable[[Sequence[int]], None], now: datetime, everything: bool = False
) -> int:
    """Send undelivered notifications never sent or due to be sent again (`everything`:
    all undelivered ones, at a scheduler's start)."""
    sent, after_id = 0, 0
    while True:
        with db.session() as session:
            statement = (
                select(Notification.notification_id, Notification.attempts)
                .where(col(Notification.notification_id) > after_id)
                .where(col(Notification.delivered_at).is_(None))
                .where(col(Notification.suppressed_by).is_(None))
                .order_by(col(Notification.notification_id))
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            if not everything:
                statement = statement.where(
                    or_(col(Notification.resend_at).is_(None), col(Notification.resend_at) <= now)
                )
            rows = session.exec(statement).all()
            if rows:
                send([notification_id for notification_id, _ in rows])
            update_rows(
                session.connection(),
                Notification.__table__,  # type: ignore[attr-defined]
                "notification_id",
                [
                    {
                        "notification_id": notification_id,
                        "enqueued_at": now,
                        "attempts": attempts + 1,
                        "resend_at": now + resend_after(attempts + 1),
                    }
                    for notification_id, attempts in rows
                ],
            )
        sent += len(rows)
        if len(rows) < BATCH:
            return sent
        after_id = rows[-1][0]


def relay_deliveries(
    db: Database, send: Callable[[int], None], now: datetime, everything: bool = False
) -> int:
    """Send pending deliveries overdue by a minute (`everything`: all those due now)."""
    due_before = now if everything else now - DELIVERY_LOST_AFTER
    sent = 0
    while True:
        with db.session() as session:
            ids = session.exec(
                select(Delivery.delivery_id)
                .where(col(Delivery.status) == "pending")
                .where(col(Delivery.next_attempt_at) <= due_before)
                .order_by(col(Delivery.next_attempt_at))
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            _send_and_stamp(session, Delivery, "delivery_id", ids, send, next_attempt_at=now)
        sent += len(ids)
        if len(ids) < BATCH:
            return sent


def relay_executions(db: Database, send: Callable[[int], None], now: datetime) -> int:
    """Hand unfinished executions that are due (a new one, a wait that ended, an
    approval deadline, a lease run out) to a worker; again a minute later if the
    message was lost."""
    with db.session() as session:
        ids = session.exec(
            select(Execution.execution_id)
            .where(col(Execution.state).in_(UNFINISHED_STATES))
            .where(col(Execution.wake_at) <= now)
            .where(
                or_(
                    col(Execution.enqueued_at).is_(None),
                    col(Execution.enqueued_at) <= now - DELIVERY_LOST_AFTER,
                )
            )
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        _send_and_stamp(session, Execution, "execution_id", ids, send, enqueued_at=now)
    return len(ids)


def _send_and_stamp(
    session: Session,
    model: type[SQLModel],
    key: str,
    ids: Sequence[int],
    send: Callable[[int], None],
    **stamp: datetime,
) -> None:
    """Send each id, and stamp its row in the same transaction as the claim."""
    for row_id in ids:
        send(row_id)
    update_rows(
        session.connection(),
        model.__table__,  # type: ignore[attr-defined]
        key,
        [{key: row_id, **stamp} for row_id in ids],
    )
