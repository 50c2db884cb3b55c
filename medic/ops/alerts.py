"""Reading and acknowledging alerts. Opening and closing them is detection's job."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, func, select

from medic.db import Database
from medic.models import Alert
from medic.ops import audit
from medic.ops.actor import Actor
from medic.ops.errors import Conflict, NotFound
from medic.ops.paging import fetch_page


def list_alerts(
    db: Database,
    actor: Actor,
    *,
    active: bool | None = None,
    service_id: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Alert], int]:
    """Newest first."""
    actor.require("read")
    statement = select(Alert)
    if active is not None:
        statement = statement.where(Alert.active == active)
    if service_id is not None:
        statement = statement.where(Alert.service_id == service_id)
    with db.session() as session:
        return fetch_page(session, statement, [col(Alert.alert_id).desc()], limit, offset)


def count_active(db: Database) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(Alert).where(col(Alert.active))).one()


def get_alert(db: Database, actor: Actor, alert_id: int) -> Alert:
    actor.require("read")
    with db.session() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise NotFound(f"no alert with id {alert_id}")
        return alert


def acknowledge(db: Database, actor: Actor, alert_id: int) -> Alert:
    """Someone is on it. Acknowledging twice keeps the first acknowledgement."""
    actor.require("write")
    with db.session() as session:
        alert = session.exec(
            select(Alert).where(Alert.alert_id == alert_id).with_for_update()
        ).first()
        if alert is None:
            raise NotFound(f"no alert with id {alert_id}")
        if not alert.active:
            raise Conflict(f"alert {alert_id} is closed; the service recovered")
        if alert.acknowledged_at is not None:
            return alert
        alert.acknowledged_at = datetime.now(UTC)
        alert.acknowledged_by = actor.name
        session.add(alert)
        audit.record(
            session, actor, "alert.acknowledge", "alert", alert_id, service_id=alert.service_id
        )
        session.flush()
        return alert
