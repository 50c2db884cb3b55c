"""Reading and acknowledging alerts. Opening and closing them is detection's job."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlmodel import col, func, select

from medic.db import Database
from medic.models import Alert
from medic.ops.errors import Conflict, NotFound
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page


class AlertView(BaseModel):
    """An alert: open while its service is down; `acknowledged_by` says someone is on it."""

    alert_id: int
    alert_name: str | None
    service_id: int
    active: bool = Field(description="open (true), or closed because the service recovered")
    external_reference_id: str | None
    alert_cycle: int
    created_date: datetime
    closed_date: datetime | None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    suppressed_by: str | None = Field(
        default=None,
        description="why its opening was recorded but not sent (a mute, a maintenance "
        "window, a parent that is down); null once announced",
    )

    @classmethod
    def of(cls, alert: Alert) -> AlertView:
        return cls.model_validate(alert.model_dump())


class ListAlerts(Command):
    active: bool | None = Field(default=None, description="open (true) or closed (false) only")
    service_id: int | None = None
    limit: int | None = Field(default=None, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)


class AlertCommand(Command):
    """A command about one alert."""

    alert_id: int

    def audit_target(self) -> tuple[str | None, object]:
        return "alert", self.alert_id


class GetAlert(AlertCommand):
    pass


class AcknowledgeAlert(AlertCommand):
    """Someone is on it. Acknowledging twice keeps the first acknowledgement."""


@operation("alert.list", scope="read")
def list_alerts(call: Call, query: ListAlerts) -> tuple[list[AlertView], int]:
    """Newest first."""
    statement = select(Alert)
    if query.active is not None:
        statement = statement.where(Alert.active == query.active)
    if query.service_id is not None:
        statement = statement.where(Alert.service_id == query.service_id)
    rows, total = fetch_page(
        call.session, statement, [col(Alert.alert_id).desc()], query.limit, query.offset
    )
    return [AlertView.of(row) for row in rows], total


def count_active(db: Database) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(Alert).where(col(Alert.active))).one()


@operation("alert.get", scope="read")
def get_alert(call: Call, command: GetAlert) -> AlertView:
    alert = call.session.get(Alert, command.alert_id)
    if alert is None:
        raise NotFound(f"no alert with id {command.alert_id}")
    return AlertView.of(alert)


@operation("alert.acknowledge", scope="write", audit="alert.acknowledge")
def acknowledge(call: Call, command: AcknowledgeAlert) -> AlertView:
    """Someone is on it. Acknowledging twice keeps the first acknowledgement."""
    alert_id = command.alert_id
    session = call.session
    alert = session.exec(select(Alert).where(Alert.alert_id == alert_id).with_for_update()).first()
    if alert is None:
        raise NotFound(f"no alert with id {alert_id}")
    if not alert.active:
        raise Conflict(f"alert {alert_id} is closed; the service recovered")
    if alert.acknowledged_at is not None:
        call.unchanged()
        return AlertView.of(alert)
    alert.acknowledged_at = datetime.now(UTC)
    alert.acknowledged_by = call.actor.name
    session.add(alert)
    call.audit("alert", alert_id, service_id=alert.service_id)
    session.flush()
    return AlertView.of(alert)
