"""Nagging, on the scheduler's side: each pass sends the reminders that are due
(medic.models.AlertReminder) for open alerts nobody acknowledged, of services nothing
silences (a mute, a maintenance window, a parent that is down).

A reminder is claimed by a conditional UPDATE (`next_at` still what this pass read),
committed with its `alert.repeated` notification: however many schedulers run, one of
them sends it, once. An acknowledged or closed alert's reminders are deleted; a silenced
one's move on to the next interval without a sound.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select, update

from medic.core.nagging import next_reminder, reminder_due
from medic.db import Database
from medic.models import Alert, AlertReminder, MaintenanceWindow, Notification, Service
from medic.scheduler import outbox
from medic.scheduler.dependencies import held_back
from medic.scheduler.silencing import Silencing

BATCH = 500


def send_due_reminders(db: Database, now: datetime) -> list[int]:
    """Write the due reminders' notifications; their ids, to send once committed."""
    with db.session() as session:
        rows = session.exec(
            select(AlertReminder, Alert, Service)
            .join(Alert, col(Alert.alert_id) == AlertReminder.alert_id)
            .join(Service, col(Service.service_id) == Alert.service_id)
            .where(col(AlertReminder.next_at) <= now)
            .order_by(col(AlertReminder.next_at))
            .limit(BATCH)
        ).all()
        if not rows:
            return []
        windows = session.exec(
            select(MaintenanceWindow).where(col(MaintenanceWindow.next_transition_at).is_not(None))
        ).all()
        services = {service.service_id: service for _, _, service in rows}
        silencing = Silencing(
            windows,
            held_back(session, [(sid, s.depends_on) for sid, s in services.items() if sid]),
        )
        reminded: dict[int, tuple[Alert, Service, list[AlertReminder]]] = {}
        for reminder, alert, service in rows:
            if not alert.active or alert.acknowledged_at is not None:
                _stop(session, reminder)
                continue
            silenced = silencing.reason(service, now) is not None
            due = reminder_due(
                reminder.next_at, now, open_=alert.active, acknowledged=False, silenced=silenced
            )
            if not _claim(session, reminder, now, sent=due) or not due:
                continue
            assert alert.alert_id is not None
            reminded.setdefault(alert.alert_id, (alert, service, []))[2].append(reminder)
        notifications = [
            _notification(alert, service, reminders, now)
            for alert, service, reminders in reminded.values()
        ]
        session.add_all(notifications)
        session.flush()
        return [n.notification_id for n in notifications if n.notification_id is not None]


def _claim(session: Session, reminder: AlertReminder, now: datetime, sent: bool) -> bool:
    """Move the reminder to its next interval if nobody else did since it was read;
    `sent`: counted as sent now (else skipped: silenced)."""
    every = timedelta(seconds=reminder.repeat_every_seconds)
    values: dict[str, object] = {"next_at": next_reminder(now, every)}
    if sent:
        values.update(last_sent_at=now, sent_count=col(AlertReminder.sent_count) + 1)
    claimed = session.exec(  # type: ignore[call-overload]
        update(AlertReminder)
        .where(col(AlertReminder.reminder_id) == reminder.reminder_id)
        .where(col(AlertReminder.next_at) == reminder.next_at)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)


def _stop(session: Session, reminder: AlertReminder) -> None:
    session.exec(  # type: ignore[call-overload]
        delete(AlertReminder).where(col(AlertReminder.reminder_id) == reminder.reminder_id)
    )


def _notification(
    alert: Alert, service: Service, reminders: list[AlertReminder], now: datetime
) -> Notification:
    return Notification(
        kind="alert.repeated",
        service_id=service.service_id,
        alert_id=alert.alert_id,
        created_at=now,
        attempts=1,
        enqueued_at=now,
        resend_at=now + outbox.resend_after(1),
        details={
            "heartbeat_name": service.heartbeat_name,
            "service_name": service.service_name,
            "team": service.team,
            "priority": service.priority,
            "runbook": service.runbook,
            "alert_id": alert.alert_id,
            "reason": service.state_reason,
            "open_since": alert.created_date.isoformat(),
            "repeat": max(r.sent_count for r in reminders) + 1,
            "targets": sorted(r.target_name for r in reminders),
        },
    )
