"""Reading alerts. Opening and closing them is detection's job (medic.actors)."""

from __future__ import annotations

from sqlmodel import col, func, select

from medic.db import Database
from medic.models import Alert
from medic.ops.actor import Actor
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
