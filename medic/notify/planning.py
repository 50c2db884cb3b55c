"""Turning one outbox notification into deliveries: one row per target it goes to.

Targets come from the service's routing policy (or the `default` policy); with no
policy at all, from the built-in targets `slack` (team channel, else
SLACK_CHANNEL_ID) and `pagerduty` (PAGERDUTY_ROUTING_KEY) when they are configured.
A recovery goes to the targets that were told of the alert, so PagerDuty resolves
what it triggered and Slack edits the message it posted, whatever the hour.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlmodel import Session, col, select

from medic.config import Settings
from medic.core.routing import Plan
from medic.db import Database
from medic.metrics import NOTIFICATIONS
from medic.models import Delivery, Notification, NotificationTarget, Service
from medic.notify.message import Target
from medic.notify.repeats import REPEATED, reminded_targets, schedule_reminders
from medic.ops.routing_plan import load_plan

log = logging.getLogger("medic.notify")

BUILT_IN_TARGETS = ("slack", "pagerduty")
APPROVAL_CLOSED = "execution.approval_closed"
# What may page: incidents, and a playbook that failed and asked for a human.
PAGING_KINDS = ("alert.opened", "alert.resolved", "execution.escalated")
# Target kinds that open incidents, and take nothing else.
PAGER_KINDS = ("pagerduty", "opsgenie")


class Due(NamedTuple):
    """A delivery to attempt now, and the target it goes to (a worker sends one
    target's deliveries together: a slow target then holds back only its own)."""

    delivery_id: int
    target_name: str


def plan_deliveries(
    db: Database, settings: Settings, notification_id: int, now: datetime
) -> list[Due]:
    """Create the notification's deliveries; those to attempt now. Idempotent: the
    row lock makes concurrent calls take turns, and the second finds it planned."""
    return plan_notifications(db, settings, [notification_id], now)


def plan_notifications(
    db: Database, settings: Settings, notification_ids: Sequence[int], now: datetime
) -> list[Due]:
    """plan_deliveries for a notify message's notifications in one transaction (one
    lock query, one read of what is planned, one batched insert) rather than one each:
    per alert, the worker's CPU and round trips are what a burst queues behind. Locks
    are taken in id order, so concurrent batches take turns without deadlock."""
    ids = sorted(set(notification_ids))
    if not ids:
        return []
    with db.session() as session:
        return _plan_batch(session, settings, ids, now)


def _plan_batch(
    session: Session, settings: Settings, ids: Sequence[int], now: datetime
) -> list[Due]:
    notifications = session.exec(
        select(Notification)
        .where(col(Notification.notification_id).in_(ids))
        .order_by(col(Notification.notification_id))
        .with_for_update()
    ).all()
    due = [n for n in notifications if n.delivered_at is None and n.suppressed_by is None]
    if not due:
        return []
    planned: dict[int, list[tuple[int, str, str]]] = {}
    for notification_id, delivery_id, status, target_name in session.exec(
        select(
            Delivery.notification_id, Delivery.delivery_id, Delivery.status, Delivery.target_name
        ).where(col(Delivery.notification_id).in_([n.notification_id for n in due]))
    ).all():
        planned.setdefault(notification_id, []).append((delivery_id, status, target_name))
    # Held in the (weak) identity map: choose_targets' session.get(Service) reads no row.
    service_ids = {n.service_id for n in due if n.service_id and n.notification_id not in planned}
    services = (
        session.exec(select(Service).where(col(Service.service_id).in_(service_ids))).all()
        if service_ids
        else []
    )
    pending_now: list[Due] = []
    created: list[Delivery] = []
    routing = BatchRouting(session, now)
    with session.no_autoflush:  # one batched flush at the end, not one per query
        for notification in due:
            _plan_one(routing, settings, notification, planned, now, pending_now, created)
    session.flush()
    del services
    return pending_now + [
        Due(d.delivery_id, d.target_name)
        for d in created
        if d.status == "pending" and d.delivery_id
    ]


class BatchRouting:
    """The routing a batch of notifications reads, each plan and target list once: a
    burst of alerts shares a few policies, and reading them per alert was most of the
    worker's planning."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self._plans: dict[tuple[str | None, str], Plan | None] = {}
        self._targets: dict[tuple[str, ...], list[Target]] = {}

    def plan(self, service: Service | None) -> Plan | None:
        """load_plan's answer: it depends on the policy the service names and its priority."""
        key = (service.routing_policy, service.priority) if service is not None else (None, "")
        if key not in self._plans:
            self._plans[key] = load_plan(self.session, service, self.now)
        return self._plans[key]

    def targets(self, names: Sequence[str]) -> list[Target]:
        """_resolve's answer, each target's config a copy of its own (a delivery keeps it)."""
        key = tuple(names)
        if key not in self._targets:
            self._targets[key] = _resolve(self.session, key)
        return [Target(t.name, t.kind, dict(t.config)) for t in self._targets[key]]


def _plan_one(
    routing: BatchRouting,
    settings: Settings,
    notification: Notification,
    planned: dict[int, list[tuple[int, str, str]]],
    now: datetime,
    pending_now: list[Due],
    created: list[Delivery],
) -> None:
    """One notification of the batch: its deliveries into `created` (flushed by the
    caller), or the ids of those planned when it was written into `pending_now`."""
    session = routing.session
    assert notification.notification_id is not None
    notification.delivered_at = now
    session.add(notification)
    NOTIFICATIONS.labels(notification.kind).inc()
    already = planned.get(notification.notification_id)
    if already:
        # Planned when it was written: a deleted service's resolve (plan_frozen_resolve).
        pending_now.extend(
            Due(delivery_id, target)
            for delivery_id, status, target in already
            if status == "pending"
        )
        return
    if notification.kind in ("alert.resolved", APPROVAL_CLOSED):
        session.flush()  # the batch's openings (requests) count among the targets told
    mode, targets, plan = choose_targets(routing, notification, settings)
    if notification.kind == "alert.opened" and plan is not None:
        schedule_reminders(session, notification, targets, plan.repeats, now)
    deliveries = [
        Delivery(
            notification_id=notification.notification_id,
            alert_id=notification.alert_id,
            kind=notification.kind,
            target_name=target.name,
            target_kind=target.kind,
            target_config=target.config,
            position=position,
            mode=mode,
            status="pending" if mode == "all" or position == 0 else "standby",
            next_attempt_at=now,
            created_at=now,
        )
        for position, target in enumerate(targets)
    ]
    session.add_all(deliveries)
    created.extend(deliveries)
    log.info(json.dumps(_log_line(notification, mode, targets), sort_keys=True, default=str))


def choose_targets(
    routing: BatchRouting, notification: Notification, settings: Settings
) -> tuple[str, list[Target], Plan | None]:
    """The mode and targets of a notification, and the routing plan they came from
    (None: they did not come from a policy)."""
    session = routing.session
    if notification.kind == "alert.resolved" and notification.alert_id is not None:
        told = _targets_told_of_alert(session, notification.alert_id)
        if told is not None:
            return "all", told, None
    if notification.kind == APPROVAL_CLOSED:
        return "all", _slack_told_of_request(session, notification), None
    if notification.kind == REPEATED:
        told = told_of_alert(session, notification.alert_id) if notification.alert_id else []
        return "all", reminded_targets(notification, told), None
    if notification.kind == "execution.approval_requested":
        # Approvals go to the team's channel, where its approvers are, whatever the
        # routing; and to the alert's PagerDuty incident, as a link to the approval page.
        targets = [Target("slack", "slack")] if settings.slack_api_token else []
        if settings.pagerduty_routing_key and notification.alert_id is not None:
            targets.append(Target("pagerduty", "pagerduty"))
        return "all", targets, None
    service = session.get(Service, notification.service_id) if notification.service_id else None
    plan = routing.plan(service)
    if plan is None:
        mode, targets = "all", _built_in_defaults(settings)
    else:
        mode, targets = plan.mode, routing.targets(plan.targets)
    if notification.kind not in PAGING_KINDS:
        # Pagers are for incidents; maintenance and playbook news go to the chat and hooks.
        targets = [t for t in targets if t.kind not in PAGER_KINDS]
    return mode, targets, plan


def _targets_told_of_alert(session: Session, alert_id: int) -> list[Target] | None:
    """None when the opening was never routed (it was silenced, or predates routing)."""
    rows = session.exec(
        select(Delivery)
        .where(Delivery.alert_id == alert_id)
        .where(Delivery.kind == "alert.opened")
        .order_by(col(Delivery.position))
    ).all()
    if not rows:
        return None
    return [
        Target(row.target_name, row.target_kind, dict(row.target_config))
        for row in rows
        if row.status == "sent"
    ]


def _slack_told_of_request(session: Session, notification: Notification) -> list[Target]:
    """A closed approval request is edited where it was posted: the Slack targets its
    request went to (sent, or still on its way), nowhere else."""
    request_id = notification.details.get("request_notification_id")
    if not isinstance(request_id, int):
        return []
    rows = session.exec(
        select(Delivery)
        .where(Delivery.notification_id == request_id)
        .where(Delivery.target_kind == "slack")
        .where(col(Delivery.status).in_(("pending", "sent")))
        .order_by(col(Delivery.position))
    ).all()
    return [Target(row.target_name, row.target_kind, dict(row.target_config)) for row in rows]


def told_of_alert(session: Session, alert_id: int) -> list[Delivery]:
    """The alert's opening as each target got it: the latest sent opening delivery
    per target, in routing order."""
    rows = session.exec(
        select(Delivery)
        .where(Delivery.alert_id == alert_id)
        .where(Delivery.kind == "alert.opened")
        .where(Delivery.status == "sent")
        .order_by(col(Delivery.delivery_id).desc())
    ).all()
    latest: dict[str, Delivery] = {}
    for row in rows:
        latest.setdefault(row.target_name, row)
    return sorted(latest.values(), key=lambda row: row.position)


def plan_frozen_resolve(
    session: Session, notification: Notification, told: Sequence[Delivery], now: datetime
) -> None:
    """Plan a resolve in the caller's transaction, for an alert whose rows are about to
    be deleted (medic.ops.service_retirement): one delivery per target in `told`, each
    carrying what that target answered at the opening (`reference["opened"]`: the
    Slack message to edit, the PagerDuty dedup_key). plan_deliveries then only hands
    them over."""
    assert notification.notification_id is not None
    session.add_all(
        Delivery(
            notification_id=notification.notification_id,
            kind=notification.kind,
            target_name=opened.target_name,
            target_kind=opened.target_kind,
            target_config=dict(opened.target_config),
            position=position,
            mode="all",
            status="pending",
            next_attempt_at=now,
            created_at=now,
            reference={"opened": dict(opened.reference)},
        )
        for position, opened in enumerate(told)
    )
    session.flush()


def _built_in_defaults(settings: Settings) -> list[Target]:
    targets = []
    if settings.slack_api_token:
        targets.append(Target("slack", "slack"))
    if settings.pagerduty_routing_key:
        targets.append(Target("pagerduty", "pagerduty"))
    return targets


def _resolve(session: Session, names: Sequence[str]) -> list[Target]:
    """Target rows by name, in order; a built-in name nobody redefined is the built-in;
    a disabled or deleted target is skipped (and logged)."""
    rows = {
        row.name: row
        for row in session.exec(
            select(NotificationTarget).where(col(NotificationTarget.name).in_(list(names)))
        ).all()
    }
    targets = []
    for name in names:
        row = rows.get(name)
        if row is not None and row.enabled:
            targets.append(Target(row.name, row.kind, dict(row.config)))
        elif row is None and name in BUILT_IN_TARGETS:
            targets.append(Target(name, name))
        else:
            log.warning(
                "routing names target %r, which is %s", name, "disabled" if row else "unknown"
            )
    return targets


def _log_line(
    notification: Notification, mode: str, targets: Sequence[Target]
) -> dict[str, object]:
    return {
        "event": notification.kind,
        "notification_id": notification.notification_id,
        "service_id": notification.service_id,
        "alert_id": notification.alert_id,
        "window_id": notification.window_id,
        "created_at": notification.created_at.isoformat(),
        "routing": {"mode": mode, "targets": [t.name for t in targets]},
        **notification.details,
    }
