"""Keeping an approval request's message true after it stops waiting.

Whatever closes a request (a decision through any door, the `timeout:Nm` window
passing, the `required` window expiring, its playbook disabled or deleted) calls
`close_request` in the same transaction. It writes one `execution.approval_closed`
notification to the outbox, so the message posted for the request is edited (buttons
gone, who or what closed it) by the delivery machinery that posted it: never an HTTP
call inside a transaction, never lost if a process dies after the commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from medic.core.approval_outcomes import Closure
from medic.models import Execution, Notification

REQUESTED = "execution.approval_requested"
CLOSED = "execution.approval_closed"


def request_notification(session: Session, execution: Execution) -> Notification | None:
    """The outbox row that posted `execution`'s approval request (None: never asked)."""
    service = col(Notification.service_id)
    rows = session.exec(
        select(Notification)
        .where(Notification.kind == REQUESTED)
        .where(
            service.is_(None) if execution.service_id is None else service == execution.service_id
        )
        .where(Notification.details["execution_id"].as_integer() == execution.execution_id)
        .order_by(col(Notification.notification_id))
    ).all()
    return rows[0] if rows else None


def close_request(
    session: Session,
    execution: Execution,
    closure: Closure,
    at: datetime,
    by: str | None = None,
    via: str | None = None,
) -> None:
    """Record that `execution`'s request stopped waiting: `by` whom (a display name),
    `via` which front door, when none of them (proceeded, expired) `by` is None."""
    request = request_notification(session, execution)
    if request is None:
        return
    session.add(
        Notification(
            kind=CLOSED,
            service_id=execution.service_id,
            alert_id=execution.alert_id,
            created_at=at,
            details={
                "execution_id": execution.execution_id,
                "playbook": execution.playbook_name,
                "request_notification_id": request.notification_id,
                "closure": closure,
                "closed_by": by,
                "closed_via": via,
                "closed_at": at.isoformat(),
            },
        )
    )
