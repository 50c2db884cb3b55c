"""Retiring a service (deactivating or deleting it) closes what its alert opened.

An open alert was announced somewhere: a PagerDuty incident, a Slack message, a
webhook receiver that tracks incidents. Retiring the service resolves it there too,
saying why ("service deactivated by alice"), so nobody is left with an incident that
nothing will ever close.

Deactivating keeps the rows: the alert closes, the service leaves `down` the way a
recovery does (`up` if it ever beat, else `new`; `down` follows), and an
`alert.resolved` notification goes through the outbox like any recovery. Reactivated,
the service is judged afresh: still late, a new alert opens.

Deleting removes the service and, by cascade, its alerts, notifications and
deliveries, and with them everything a resolve is built from (who was told, the Slack
message, the dedup_key). So the resolve is planned at once, in the deleting
transaction: it belongs to no service (the cascade leaves it), carries the service
and the alert as they were (medic.notify.snapshot.frozen_facts), and each of its
deliveries carries what its target answered when the alert opened.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from medic.models import Alert, Notification, Service, StateChange
from medic.models.columns import utcnow
from medic.notify.planning import plan_frozen_resolve, told_of_alert
from medic.notify.snapshot import FROZEN, frozen_facts
from medic.ops.operation import Call

NEVER_ANNOUNCED = "its alert was never announced"


def deactivated(call: Call, service: Service) -> None:
    """`service` was just deactivated: resolve its open alert where it was announced,
    and take it out of `down`."""
    session, now = call.session, utcnow()
    reason = f"service deactivated by {call.actor.name}"
    alert = _open_alert(session, service)
    if alert is not None:
        alert.active, alert.closed_date = False, now
        session.add(alert)
        session.add(
            Notification(
                kind="alert.resolved",
                service_id=service.service_id,
                alert_id=alert.alert_id,
                created_at=now,
                # Like a recovery: whoever was told it broke is told, muted or not.
                suppressed_by=None if _announced(session, alert) else NEVER_ANNOUNCED,
                details=_details(service, alert, now, "deactivated", reason),
            )
        )
        call.db.wake_scheduler(session)
    if service.state == "down":
        assert service.service_id is not None
        state = "up" if service.last_alive_at is not None else "new"
        session.add(
            StateChange(
                service_id=service.service_id,
                at=now,
                from_state="down",
                to_state=state,
                reason=reason,
                alert_id=alert.alert_id if alert else None,
            )
        )
        service.state, service.state_changed_at, service.state_reason = state, now, reason
        service.consecutive_failures, service.missed_deadline_at = 0, None
    service.down = False


def before_deletion(call: Call, service: Service) -> int | None:
    """`service` is about to be deleted: plan the resolve of its open alert, to the
    targets that were told of it, so that it outlives the rows. The alert's id, if one
    was open."""
    session = call.session
    alert = _open_alert(session, service)
    if alert is None:
        return None
    assert alert.alert_id is not None
    told = told_of_alert(session, alert.alert_id)
    if not told:
        return alert.alert_id  # nobody was told: nobody to tell
    now = utcnow()
    reason = f"service deleted by {call.actor.name}"
    details = _details(service, alert, now, "deleted", reason)
    details[FROZEN] = frozen_facts(
        session, service, alert, call.settings, state="deleted", reason=reason, at=now
    )
    # Neither the service nor the alert: both rows are about to go, and this must not.
    notification = Notification(kind="alert.resolved", created_at=now, details=details)
    session.add(notification)
    session.flush()
    plan_frozen_resolve(session, notification, told, now)
    call.db.wake_scheduler(session)
    return alert.alert_id


def _open_alert(session: Session, service: Service) -> Alert | None:
    return session.exec(
        select(Alert).where(Alert.service_id == service.service_id).where(col(Alert.active))
    ).first()


def _announced(session: Session, alert: Alert) -> bool:
    """Whether the alert's opening was notified (not silenced by a mute or a window)."""
    return (
        session.exec(
            select(Notification.notification_id)
            .where(Notification.alert_id == alert.alert_id)
            .where(Notification.kind == "alert.opened")
            .where(col(Notification.suppressed_by).is_(None))
        ).first()
        is not None
    )


def _details(
    service: Service, alert: Alert, now: datetime, resolution: str, reason: str
) -> dict[str, Any]:
    """What a recovery's notification records (medic.scheduler.evaluator), and why."""
    since = service.state_changed_at if service.state == "down" else alert.created_date
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # SQLite gives back naive UTC
    return {
        "heartbeat_name": service.heartbeat_name,
        "service_name": service.service_name,
        "team": service.team,
        "priority": service.priority,
        "runbook": service.runbook,
        "consecutive_failures": service.consecutive_failures,
        "alert_id": alert.alert_id,
        "reason": reason,
        "resolution": resolution,
        "down_for_seconds": (now - since).total_seconds() if since else None,
    }
