"""Nagging, on the delivery side: when an alert's opening is routed, each target it
goes to that repeats (a routing rule's `repeat_every`, else the target's own) gets a
reminder row (medic.models.AlertReminder); a reminder (`alert.repeated`) goes to the
targets it names that were told of the opening, as they were told.

Pagers never repeat: PagerDuty and Opsgenie escalate on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from medic.core.nagging import effective_repeat, next_reminder
from medic.models import AlertReminder, Delivery, Notification, NotificationTarget
from medic.notify.message import Target

REPEATED = "alert.repeated"
PAGER_KINDS = ("pagerduty", "opsgenie")


def schedule_reminders(
    session: Session,
    notification: Notification,
    targets: Sequence[Target],
    rule_repeats: Sequence[tuple[str, str]],
    now: datetime,
) -> None:
    """Reminder rows for the targets of an alert's opening that repeat (none twice);
    `rule_repeats` are the routing plan's (the targets came from a policy: built-in
    targets alone never repeat)."""
    if notification.alert_id is None or notification.service_id is None:
        return
    candidates = [t for t in targets if t.kind not in PAGER_KINDS]
    if not candidates:
        return
    repeat_in_rules = dict(rule_repeats)
    names = [t.name for t in candidates]
    target_repeats = dict(
        session.exec(
            select(NotificationTarget.name, NotificationTarget.repeat_every).where(
                col(NotificationTarget.name).in_(names)
            )
        ).all()
    )
    repeats = {name: _repeat(repeat_in_rules.get(name), target_repeats.get(name)) for name in names}
    if not any(repeats.values()):
        return
    existing = set(
        session.exec(
            select(AlertReminder.target_name).where(AlertReminder.alert_id == notification.alert_id)
        ).all()
    )
    for name, every in repeats.items():
        if every is None or name in existing:
            continue
        session.add(
            AlertReminder(
                alert_id=notification.alert_id,
                target_name=name,
                repeat_every_seconds=int(every.total_seconds()),
                next_at=next_reminder(now, every),
            )
        )


def _repeat(rule_repeat: str | None, target_repeat: str | None) -> timedelta | None:
    try:
        return effective_repeat(rule_repeat, target_repeat)
    except ValueError:
        return None  # a value stored before it was checked: no repeats


def reminded_targets(notification: Notification, told: Sequence[Delivery]) -> list[Target]:
    """The targets a reminder names, as each was told of the opening (`told`: the latest
    sent opening delivery per target): the channel or hook that got the alert gets
    the reminder."""
    wanted = notification.details.get("targets")
    if not isinstance(wanted, list):
        return []
    return [
        Target(row.target_name, row.target_kind, dict(row.target_config))
        for row in told
        if row.target_name in wanted and row.target_kind not in PAGER_KINDS
    ]
