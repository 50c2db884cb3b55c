"""The Message a sender gets, read from the database just before an attempt, so a
retry tells the current truth (an alert acknowledged meanwhile, a renamed service)."""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from medic.config import Settings
from medic.core.links import approval_page, execution_page
from medic.models import (
    Alert,
    Delivery,
    Execution,
    MaintenanceWindow,
    Notification,
    Service,
    Team,
)
from medic.notify.message import AlertFacts, ExecutionFacts, Message, ServiceFacts, WindowFacts
from medic.ops.alert_playbooks import enabled_playbooks, offered_among
from medic.ops.playbooks import pinned_definition
from medic.ops.principals import display_name

FROZEN = "frozen"


class Snapshots:
    """The messages of a batch of deliveries, read in one session. A burst of alerts
    shares a few team channels and one list of enabled playbooks: each is read once
    per batch, not once per delivery."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self._team_channels: dict[str, str | None] = {}
        self._enabled_playbooks: list[tuple[str, str]] | None = None

    def message(self, delivery: Delivery) -> Message:
        session = self.session
        notification = session.get(Notification, delivery.notification_id)
        assert notification is not None, "a delivery's notification is deleted with it"
        details = dict(notification.details)
        # The facts of a service deleted since (medic.ops.service_retirement); not sent as such.
        frozen = details.pop(FROZEN, None) or {}
        service = session.get(Service, notification.service_id) if notification.service_id else None
        alert = session.get(Alert, notification.alert_id) if notification.alert_id else None
        window = (
            session.get(MaintenanceWindow, notification.window_id)
            if notification.window_id
            else None
        )
        return Message(
            kind=notification.kind,
            notification_id=delivery.notification_id,
            created_at=notification.created_at,
            medic_url=self.settings.medic_base_url.rstrip("/"),
            service=_service_facts(service, details) if service else _thaw(ServiceFacts, frozen),
            alert=_alert_facts(alert) if alert else _thaw(AlertFacts, frozen),
            window=_window_facts(window) if window else None,
            execution=_execution_facts(session, details.get("execution_id"), self.settings),
            slack_channel=frozen.get("slack_channel") or self._slack_channel(service),
            opened_reference=_opened_reference(session, delivery),
            details=details,
            downtime=_downtime(notification.kind, details),
            playbooks=self._offered(notification.kind, service),
        )

    def _slack_channel(self, service: Service | None) -> str | None:
        if service is None:
            return self.settings.slack_channel_id
        if service.team not in self._team_channels:
            self._team_channels[service.team] = _slack_channel(self.session, service, self.settings)
        return self._team_channels[service.team]

    def _offered(self, kind: str, service: Service | None) -> tuple[str, ...]:
        """For a problem: the playbooks a person may start from the message."""
        if service is None or kind not in ("alert.opened", "alert.repeated"):
            return ()
        if self._enabled_playbooks is None:
            self._enabled_playbooks = enabled_playbooks(self.session)
        return tuple(offered_among(self._enabled_playbooks, service))


def _downtime(kind: str, details: dict[str, Any]) -> timedelta | None:
    """How long a recovered service was down (`down_for_seconds`, written at recovery)."""
    seconds = details.get("down_for_seconds")
    if kind != "alert.resolved" or not isinstance(seconds, int | float):
        return None
    return timedelta(seconds=seconds)


def _service_facts(service: Service, details: dict[str, object]) -> ServiceFacts:
    assert service.service_id is not None
    reason = details.get("reason")
    return ServiceFacts(
        service_id=service.service_id,
        heartbeat_name=service.heartbeat_name,
        service_name=service.service_name,
        team=service.team,
        priority=service.priority,
        runbook=service.runbook,
        state=service.state,
        state_reason=str(reason) if reason else service.state_reason,
        state_changed_at=service.state_changed_at,
        muted=service.muted,
    )


def _alert_facts(alert: Alert) -> AlertFacts:
    assert alert.alert_id is not None
    return AlertFacts(
        alert_id=alert.alert_id,
        alert_name=alert.alert_name,
        alert_cycle=alert.alert_cycle,
        created_date=alert.created_date,
        closed_date=alert.closed_date,
        active=alert.active,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
    )


def _window_facts(window: MaintenanceWindow) -> WindowFacts:
    assert window.window_id is not None
    return WindowFacts(
        window_id=window.window_id,
        name=window.name,
        reason=window.reason,
        service_ids=window.service_ids,
        ends_at=window.ends_at,
    )


def _execution_facts(
    session: Session, execution_id: object, settings: Settings
) -> ExecutionFacts | None:
    if not isinstance(execution_id, int):
        return None
    execution = session.get(Execution, execution_id)
    if execution is None:
        return None
    definition = pinned_definition(session, execution)
    return ExecutionFacts(
        execution_id=execution_id,
        playbook=execution.playbook_name,
        version=execution.version,
        description=definition.description,
        steps=[f"{step.name} ({step.type})" for step in definition.steps],
        requested_by=display_name(session, execution.requested_by),
        front_door=execution.front_door,
        reason=execution.reason,
        state=execution.state,
        approval=str(definition.approval),
        approval_on_deadline=execution.approval_on_deadline,
        # Waiting for a human although the playbook alone would not (an AI requested it).
        approval_forced=execution.approval_on_deadline == "cancel"
        and definition.approval.kind != "required",
        approval_deadline=execution.approval_deadline,
        decided_by=execution.decided_by,
        decided_at=execution.decided_at,
        error=execution.error,
        approval_url=(
            approval_page(settings.medic_base_url, execution.approval_token)
            if execution.approval_token
            else None
        ),
        url=execution_page(settings.medic_base_url, execution_id),
        approval_token=execution.approval_token,
    )


def _slack_channel(session: Session, service: Service | None, settings: Settings) -> str | None:
    """The service's team channel (SRE-11), else the default channel."""
    if service is not None:
        channel = session.exec(
            select(Team.slack_channel_id).where(Team.name == service.team)
        ).first()
        if channel:
            return channel
    return settings.slack_channel_id


def _opened_reference(session: Session, delivery: Delivery) -> dict[str, object]:
    """For a recovery: what this target answered when the alert opened (the Slack
    message to edit, the PagerDuty dedup_key to resolve); for a closed approval
    request, what Slack answered when the request was posted."""
    if delivery.kind == "execution.approval_closed":
        return _request_reference(session, delivery)
    if delivery.kind != "alert.resolved":
        return {}
    frozen = delivery.reference.get("opened")
    if isinstance(frozen, dict):  # planned before the opening's rows were deleted
        return dict(frozen)
    if delivery.alert_id is None:
        return {}
    reference = session.exec(
        select(Delivery.reference)
        .where(Delivery.alert_id == delivery.alert_id)
        .where(Delivery.kind == "alert.opened")
        .where(Delivery.target_name == delivery.target_name)
        .where(Delivery.status == "sent")
        .order_by(col(Delivery.delivery_id).desc())
    ).first()
    return dict(reference or {})


def _request_reference(session: Session, delivery: Delivery) -> dict[str, object]:
    """The posted request's channel and ts; `{"pending": True}` while its own delivery
    is still on its way (the edit waits for it), `{}` when it never reached Slack."""
    notification = session.get(Notification, delivery.notification_id)
    request_id = notification.details.get("request_notification_id") if notification else None
    posted = session.exec(
        select(Delivery)
        .where(Delivery.notification_id == request_id)
        .where(Delivery.target_name == delivery.target_name)
    ).first()
    if posted is None:
        return {}
    if posted.status == "sent":
        return dict(posted.reference)
    return {"pending": True} if posted.status in ("pending", "standby") else {}


def frozen_facts(
    session: Session,
    service: Service,
    alert: Alert,
    settings: Settings,
    *,
    state: str,
    reason: str,
    at: datetime,
) -> dict[str, Any]:
    """The service and its alert, closed `at` with `reason`, as messages about them need
    them once their rows are deleted (stored in the notification's details)."""
    service_facts = replace(
        _service_facts(service, {"reason": reason}), state=state, state_changed_at=at
    )
    alert_facts = replace(_alert_facts(alert), active=False, closed_date=at)
    return {
        "service": _jsonable(service_facts),
        "alert": _jsonable(alert_facts),
        "slack_channel": _slack_channel(session, service, settings),
    }


def _jsonable(facts: ServiceFacts | AlertFacts) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in asdict(facts).items()
    }


F = TypeVar("F", ServiceFacts, AlertFacts)


def _thaw(cls: type[F], frozen: dict[str, Any]) -> F | None:
    key = "service" if cls is ServiceFacts else "alert"
    values = frozen.get(key)
    if not isinstance(values, dict):
        return None
    return cls(
        **{
            f.name: _instant(values.get(f.name)) if "datetime" in str(f.type) else values[f.name]
            for f in fields(cls)
            if f.name in values
        }
    )


def _instant(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
