"""Browsing the fleet as a person does: filter by team and by what a service looks like
at a glance (new, up, late, down, paused: medic.core.service_health), search by name,
one page at a time, the worst first. And the deadlines a schedule would give, before
a service is registered with it.

Cheap at 10,000 services: a count, one page and the team names, each one query.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, case, func, not_, or_
from sqlmodel import col, select

from medic.core.names import clean_name, environment_name, name_key
from medic.core.schedules import following_deadline, next_due_at
from medic.core.service_health import Health, health
from medic.models import Service
from medic.ops.errors import InvalidInput
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page
from medic.ops.service_commands import RegisterService
from medic.ops.service_view import ServiceView
from medic.ops.services import _check_schedule, view

PREVIEWED_DEADLINES = 5


class ServiceRow(BaseModel):
    service: ServiceView
    health: Health


class ServicePage(BaseModel):
    rows: list[ServiceRow]
    total: int = Field(description="services matching the filters, on every page")
    teams: list[str] = Field(description="every team a service names, for the filter")


class BrowseServices(Command):
    team: str | None = Field(default=None, max_length=255)
    health: Health | None = None
    search: str | None = Field(default=None, max_length=255, description="part of a name")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=2**62)


def _late(dialect: str, now: datetime) -> ColumnElement[bool]:
    """Not down, and the schedule's deadline (next_due_at without the grace) passed."""
    due = col(Service.next_due_at)
    grace = col(Service.grace_period_seconds)
    if dialect == "postgresql":
        passed = due <= now + func.make_interval(0, 0, 0, 0, 0, 0, grace)
    else:
        stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        passed = func.julianday(due) <= func.julianday(stamp) + grace / 86400.0
    return and_(col(Service.state) != "down", due.is_not(None), passed)


def _health_clause(value: Health, dialect: str, now: datetime) -> ColumnElement[bool]:
    active = col(Service.active)
    if value == "paused":
        return not_(active)
    if value == "down":
        return and_(active, col(Service.state) == "down")
    late = _late(dialect, now)
    if value == "late":
        return and_(active, late)
    return and_(active, col(Service.state) == value, not_(late))


@operation("service.browse", scope="read")
def browse(call: Call, query: BrowseServices) -> ServicePage:
    now = datetime.now(UTC)
    statement: Any = select(Service)
    if query.team:
        statement = statement.where(Service.team == query.team)
    if query.health is not None:
        statement = statement.where(_health_clause(query.health, call.db.dialect, now))
    if query.search:
        needle = query.search.lower()
        statement = statement.where(
            or_(
                col(Service.name_key).contains(needle, autoescape=True),
                func.lower(col(Service.service_name)).contains(needle, autoescape=True),
            )
        )
    order = [
        case((col(Service.state) == "down", 0), else_=1),
        col(Service.next_due_at).is_(None),
        col(Service.next_due_at),
        col(Service.service_id),
    ]
    rows, total = fetch_page(call.session, statement, order, query.limit, query.offset)
    teams = call.session.exec(select(Service.team).distinct().order_by(col(Service.team))).all()
    return ServicePage(
        rows=[
            ServiceRow(
                service=view(call, row),
                health=health(
                    state=row.state,
                    active=row.active,
                    next_due_at=row.next_due_at,
                    grace_period_seconds=row.grace_period_seconds,
                    now=now,
                ),
            )
            for row in rows
        ],
        total=total,
        teams=list(teams),
    )


@operation("service.preview", scope="write")
def preview_deadlines(call: Call, command: RegisterService) -> list[datetime]:
    """The first deadlines a service registered now with this schedule would have, if no
    heartbeat came: what registering would do, without registering."""
    try:
        name = clean_name(environment_name(command.heartbeat_name, command.environment))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    values = command.model_dump(exclude={"environment", "heartbeat_name"}, exclude_none=True)
    service = Service(heartbeat_name=name, name_key=name_key(name), **values)
    schedule = _check_schedule(service, call.settings.medic_timezone)
    deadlines = [next_due_at(schedule, [], datetime.now(UTC))]
    while len(deadlines) < PREVIEWED_DEADLINES:
        deadlines.append(following_deadline(schedule, deadlines[-1]))
    return deadlines
