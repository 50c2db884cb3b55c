"""Maintenance windows: create, list, look up, delete (ticket SRE-14).

A window is one-time (`starts_at` .. `ends_at`) or recurring (`cron_expression` fires
in an IANA `timezone`, each occurrence lasting `duration_minutes`), for listed services
or all of them (`service_ids` null). Windows silence notifications, never state: the
rules are medic.core.maintenance, the scheduler announces each start and end
(`maintenance.started` / `maintenance.ended`) at `next_transition_at`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from croniter import croniter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlmodel import Session, col, select

from medic.config import validate_timezone
from medic.core.maintenance import next_transition, occurrence_at
from medic.core.schedules import next_cron_fire
from medic.db import Database
from medic.detection.silencing import window_rule
from medic.models import MaintenanceWindow, Notification, Service
from medic.ops import audit
from medic.ops.actor import Actor
from medic.ops.errors import InvalidInput, NotFound

MAX_DURATION_MINUTES = 31 * 24 * 60  # 44640: a month
MAX_SERVICES = 1000
_MAX_ID = 2**31 - 1
ServiceId = Annotated[int, Field(ge=1, le=_MAX_ID)]


def _no_nul(value: str | None) -> str | None:
    """PostgreSQL cannot store NUL in text; refuse it on every backend."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class WindowSpec(BaseModel):
    """A new window: either one-time (starts_at and ends_at) or recurring
    (cron_expression and duration_minutes, in `timezone`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=255)
    reason: str | None = Field(default=None, max_length=1000)
    service_ids: list[ServiceId] | None = Field(
        default=None, description="the services it covers; null for every service"
    )
    starts_at: AwareDatetime | None = Field(default=None, description="one-time: opens at")
    ends_at: AwareDatetime | None = Field(default=None, description="one-time: closes at")
    cron_expression: str | None = Field(
        default=None, max_length=255, description="recurring: five-field cron, opens at each fire"
    )
    duration_minutes: int | None = Field(
        default=None, ge=1, le=MAX_DURATION_MINUTES, description="recurring: how long each lasts"
    )
    timezone: str | None = Field(
        default=None, description="IANA name the cron is read in; default MEDIC_TIMEZONE"
    )

    _text = field_validator("name", "reason", "cron_expression")(_no_nul)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None or value == "" else validate_timezone(value)

    @field_validator("service_ids")
    @classmethod
    def _services(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must list at least one service id, or be null for every service")
        if len(value) > MAX_SERVICES:
            raise ValueError(f"must list at most {MAX_SERVICES} services")
        return sorted(set(value))

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _one_kind(self) -> WindowSpec:
        one_time = self.starts_at is not None or self.ends_at is not None
        recurring = self.cron_expression is not None or self.duration_minutes is not None
        if one_time and recurring:
            raise ValueError(
                "a window is either one-time (starts_at and ends_at) or recurring "
                "(cron_expression and duration_minutes), not both"
            )
        if not one_time and not recurring:
            raise ValueError(
                "give starts_at and ends_at (one-time) or cron_expression and "
                "duration_minutes (recurring)"
            )
        if one_time:
            if self.starts_at is None or self.ends_at is None:
                raise ValueError("a one-time window needs both starts_at and ends_at")
            if self.ends_at <= self.starts_at:
                raise ValueError("ends_at must be after starts_at")
            return self
        if not self.cron_expression:
            raise ValueError("a recurring window needs cron_expression")
        if self.duration_minutes is None:
            raise ValueError("a recurring window needs duration_minutes")
        if len(self.cron_expression.split()) != 5:
            raise ValueError(
                "cron_expression must have five fields (minute hour day month weekday)"
            )
        if not croniter.is_valid(self.cron_expression):
            raise ValueError(f"cron_expression {self.cron_expression!r} is not valid")
        return self


class WindowView(BaseModel):
    """A window as shown to people: its settings, whether it is open now, and when it
    next opens or closes (`next_transition_at`; null once it never will again)."""

    window_id: int
    name: str
    reason: str | None
    service_ids: list[int] | None
    starts_at: datetime | None
    ends_at: datetime | None
    cron_expression: str | None
    duration_minutes: int | None
    timezone: str
    recurring: bool
    created_by: str
    created_at: datetime
    open_now: bool
    current_occurrence_ends_at: datetime | None
    next_transition_at: datetime | None
    # Whether the scheduler has announced the current occurrence (maintenance.started).
    in_progress: bool

    @classmethod
    def of(cls, window: MaintenanceWindow, now: datetime | None = None) -> WindowView:
        now = now or datetime.now(UTC)
        rule = window_rule(window)
        occurrence = occurrence_at(rule, now)
        return cls(
            window_id=window.window_id,  # type: ignore[arg-type]
            name=window.name,
            reason=window.reason,
            service_ids=window.service_ids,
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            cron_expression=window.cron_expression,
            duration_minutes=window.duration_minutes,
            timezone=window.timezone,
            recurring=rule.recurring,
            created_by=window.created_by,
            created_at=window.created_at,
            open_now=occurrence is not None,
            current_occurrence_ends_at=occurrence[1] if occurrence else None,
            next_transition_at=next_transition(rule, now),
            in_progress=window.in_progress,
        )


def _find(session: Session, window_id: int, lock: bool = False) -> MaintenanceWindow:
    window = None
    if 1 <= window_id <= _MAX_ID:
        statement = select(MaintenanceWindow).where(MaintenanceWindow.window_id == window_id)
        if lock:
            statement = statement.with_for_update()
        window = session.exec(statement).first()
    if window is None:
        raise NotFound(f"no maintenance window with id {window_id}")
    return window


def _check_services(session: Session, service_ids: list[int] | None) -> None:
    if service_ids is None:
        return
    known = set(
        session.exec(
            select(Service.service_id).where(col(Service.service_id).in_(service_ids))
        ).all()
    )
    unknown = [service_id for service_id in service_ids if service_id not in known]
    if unknown:
        raise InvalidInput(
            f"unknown service id{'s' if len(unknown) > 1 else ''}: "
            + ", ".join(str(service_id) for service_id in unknown)
        )


def create_window(
    db: Database, actor: Actor, spec: WindowSpec, default_timezone: str
) -> MaintenanceWindow:
    """Store a window; the scheduler looks at it at once (it may already be open)."""
    actor.require("write")
    now = datetime.now(UTC)
    window = MaintenanceWindow(
        name=spec.name,
        reason=spec.reason,
        service_ids=spec.service_ids,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        cron_expression=spec.cron_expression,
        duration_minutes=spec.duration_minutes,
        timezone=spec.timezone or default_timezone,
        created_by=actor.name,
        created_at=now,
        next_transition_at=now,
    )
    rule = window_rule(window)
    if rule.recurring:
        try:
            next_cron_fire(rule.cron_expression or "", rule.timezone, now)
        except ValueError:
            raise InvalidInput(
                f"cron_expression {rule.cron_expression!r} never fires"
                f" in {rule.timezone} from now on"
            ) from None
    elif window.ends_at is not None and window.ends_at <= now:
        raise InvalidInput(f"ends_at {window.ends_at.isoformat()} is in the past")
    with db.session() as session:
        _check_services(session, spec.service_ids)
        session.add(window)
        session.flush()
        db.wake_scheduler(session)
        audit.record(
            session,
            actor,
            "maintenance.create",
            "maintenance_window",
            window.window_id,
            name=window.name,
            reason=window.reason,
            service_ids=window.service_ids,
            starts_at=_plain(window.starts_at),
            ends_at=_plain(window.ends_at),
            cron_expression=window.cron_expression,
            duration_minutes=window.duration_minutes,
            timezone=window.timezone,
        )
    return window


def list_windows(db: Database, actor: Actor, active_only: bool = False) -> list[MaintenanceWindow]:
    """Every window, oldest first; `active_only`: only those open now."""
    actor.require("read")
    with db.session() as session:
        windows = list(
            session.exec(select(MaintenanceWindow).order_by(col(MaintenanceWindow.window_id)))
        )
    if active_only:
        now = datetime.now(UTC)
        windows = [w for w in windows if occurrence_at(window_rule(w), now) is not None]
    return windows


def get_window(db: Database, actor: Actor, window_id: int) -> MaintenanceWindow:
    actor.require("read")
    with db.session() as session:
        return _find(session, window_id)


def delete_window(db: Database, actor: Actor, window_id: int) -> MaintenanceWindow:
    """Delete a window. If its start was announced, its end is announced too, in the
    same transaction: nobody is left believing maintenance still runs."""
    actor.require("write")
    with db.session() as session:
        window = _find(session, window_id, lock=True)
        if window.in_progress:
            # window_id stays in the details: the row it would reference is going away.
            session.add(
                Notification(
                    kind="maintenance.ended",
                    window_id=None,
                    created_at=datetime.now(UTC),
                    details={
                        "window": window.name,
                        "window_id": window.window_id,
                        "reason": window.reason,
                        "service_ids": window.service_ids,
                        "ended_by": f"deleted by {actor.name}",
                    },
                )
            )
            db.wake_scheduler(session)
        audit.record(
            session,
            actor,
            "maintenance.delete",
            "maintenance_window",
            window.window_id,
            name=window.name,
            in_progress=window.in_progress,
        )
        session.delete(window)
    return window


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
