"""Maintenance windows: create, list, look up, delete (ticket SRE-14).

A window is one-time (`starts_at` .. `ends_at`) or recurring (`cron_expression` fires
in an IANA `timezone`, each occurrence lasting `duration_minutes`), for listed services
or all of them (`service_ids` null). Windows silence notifications, never state: the
rules are medic.core.maintenance, the scheduler announces each start and end
(`maintenance.started` / `maintenance.ended`) at `next_transition_at`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated

from croniter import croniter
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlmodel import Session, col, select

from medic.config import validate_timezone
from medic.core.maintenance import next_transition, occurrence_at
from medic.core.schedules import next_cron_fire
from medic.models import MaintenanceWindow, Notification, Service
from medic.ops import config_history
from medic.ops.errors import InvalidInput, NotFound
from medic.ops.fields import Duration, Instant, Reason
from medic.ops.named import plain
from medic.ops.operation import Call, Command, operation
from medic.scheduler.silencing import window_rule

MAX_DURATION_MINUTES = 31 * 24 * 60  # 44640: a month
MAX_SERVICES = 1000
_MAX_ID = 2**31 - 1
ServiceId = Annotated[int, Field(ge=1, le=_MAX_ID)]


def _no_nul(value: str | None) -> str | None:
    """PostgreSQL cannot store NUL in text; refuse it on every backend."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class CreateWindow(Command):
    """A new window: one-time (starts_at and ends_at, or a `duration` from starts_at,
    default now) or recurring (cron_expression and duration_minutes, or a `duration`
    for each occurrence, in `timezone`)."""

    name: str = Field(min_length=1, max_length=255)
    reason: Reason | None = None
    service_ids: list[ServiceId] | None = Field(
        default=None, description="the services it covers; null for every service"
    )
    starts_at: Instant | None = Field(default=None, description="one-time: opens at")
    ends_at: Instant | None = Field(default=None, description="one-time: closes at")
    cron_expression: str | None = Field(
        default=None, max_length=255, description="recurring: five-field cron, opens at each fire"
    )
    duration_minutes: int | None = Field(
        default=None, ge=1, le=MAX_DURATION_MINUTES, description="recurring: how long each lasts"
    )
    duration: Duration | None = Field(
        default=None,
        description="instead of ends_at (one-time: from starts_at, default now) or of "
        "duration_minutes (recurring: each occurrence), e.g. 2h",
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

    @property
    def recurring(self) -> bool:
        return self.cron_expression is not None or self.duration_minutes is not None

    def opens_at(self, now: datetime) -> datetime | None:
        """One-time: when it opens (a duration without starts_at starts now)."""
        if self.starts_at is None and self.duration is not None and not self.recurring:
            return now
        return self.starts_at

    def closes_at(self, now: datetime) -> datetime | None:
        """One-time: when it closes."""
        opens = self.opens_at(now)
        if self.duration is not None and not self.recurring and opens is not None:
            return opens + self.duration
        return self.ends_at

    def occurrence_minutes(self) -> int | None:
        """Recurring: how long each occurrence lasts."""
        if self.duration is not None and self.cron_expression is not None:
            return math.ceil(self.duration.total_seconds() / 60)
        return self.duration_minutes

    @model_validator(mode="after")
    def _one_kind(self) -> CreateWindow:
        if self.duration is not None:
            if self.duration_minutes is not None:
                raise ValueError("give duration or duration_minutes, not both")
            if self.cron_expression is None and self.ends_at is not None:
                raise ValueError("give ends_at or duration, not both")
        now = datetime.now(UTC)
        starts_at, ends_at = self.opens_at(now), self.closes_at(now)
        minutes = self.occurrence_minutes()
        one_time = starts_at is not None or ends_at is not None
        recurring = self.cron_expression is not None or minutes is not None
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
            if starts_at is None or ends_at is None:
                raise ValueError("a one-time window needs both starts_at and ends_at")
            if ends_at <= starts_at:
                raise ValueError("ends_at must be after starts_at")
            return self
        if not self.cron_expression:
            raise ValueError("a recurring window needs cron_expression")
        if minutes is None:
            raise ValueError("a recurring window needs duration_minutes (or duration)")
        if minutes > MAX_DURATION_MINUTES:
            raise ValueError(
                f"duration: each occurrence lasts at most {MAX_DURATION_MINUTES} minutes"
            )
        if len(self.cron_expression.split()) != 5:
            raise ValueError(
                "cron_expression must have five fields (minute hour day month weekday)"
            )
        if not croniter.is_valid(self.cron_expression):
            raise ValueError(f"cron_expression {self.cron_expression!r} is not valid")
        return self

    def audit_target(self) -> tuple[str | None, object]:
        return "maintenance_window", self.name


config_history.track("maintenance_window", CreateWindow)


class WindowCommand(Command):
    """A command about one window, by id."""

    window_id: int

    def audit_target(self) -> tuple[str | None, object]:
        return "maintenance_window", self.window_id


class GetWindow(WindowCommand):
    pass


class DeleteWindow(WindowCommand):
    """If its start was announced, its end is announced too."""


class ListWindows(Command):
    active: bool = Field(default=False, description="only windows open now")
    limit: int | None = Field(default=None, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)


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


def find_window(session: Session, window_id: int, lock: bool = False) -> MaintenanceWindow:
    window = None
    if 1 <= window_id <= _MAX_ID:
        statement = select(MaintenanceWindow).where(MaintenanceWindow.window_id == window_id)
        if lock:
            statement = statement.with_for_update()
        window = session.exec(statement).first()
    if window is None:
        raise NotFound(f"no maintenance window with id {window_id}")
    return window


def check_services(session: Session, service_ids: list[int] | None) -> None:
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


def check_times(window: MaintenanceWindow, now: datetime) -> None:
    """A recurring window must fire again, a one-time one must not have ended already
    (when it is created, and when it is edited: medic.ops.maintenance_update)."""
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


@operation("maintenance.create", scope="write", audit="maintenance.create")
def create_window(call: Call, command: CreateWindow) -> WindowView:
    """Store a window; the scheduler looks at it at once (it may already be open)."""
    now = datetime.now(UTC)
    window = MaintenanceWindow(
        name=command.name,
        reason=command.reason,
        service_ids=command.service_ids,
        starts_at=command.opens_at(now),
        ends_at=command.closes_at(now),
        cron_expression=command.cron_expression,
        duration_minutes=command.occurrence_minutes(),
        timezone=command.timezone or call.settings.medic_timezone,
        created_by=call.actor.name,
        created_at=now,
        next_transition_at=now,
    )
    check_times(window, now)
    session = call.session
    check_services(session, command.service_ids)
    session.add(window)
    session.flush()
    call.db.wake_scheduler(session)
    config_history.created(call, "maintenance_window", window)
    call.audit(
        "maintenance_window",
        window.window_id,
        name=window.name,
        reason=window.reason,
        service_ids=window.service_ids,
        starts_at=plain(window.starts_at),
        ends_at=plain(window.ends_at),
        cron_expression=window.cron_expression,
        duration_minutes=window.duration_minutes,
        timezone=window.timezone,
    )
    return WindowView.of(window, now)


@operation("maintenance.list", scope="read")
def list_windows(call: Call, query: ListWindows) -> tuple[list[WindowView], int]:
    """Oldest first; `active`: only those open now."""
    windows = list(
        call.session.exec(select(MaintenanceWindow).order_by(col(MaintenanceWindow.window_id)))
    )
    now = datetime.now(UTC)
    if query.active:
        windows = [w for w in windows if occurrence_at(window_rule(w), now) is not None]
    end = None if query.limit is None else query.offset + query.limit
    return [WindowView.of(w, now) for w in windows[query.offset : end]], len(windows)


@operation("maintenance.get", scope="read")
def get_window(call: Call, command: GetWindow) -> WindowView:
    return WindowView.of(find_window(call.session, command.window_id))


@operation("maintenance.delete", scope="write", audit="maintenance.delete")
def delete_window(call: Call, command: DeleteWindow) -> WindowView:
    """Delete a window. If its start was announced, its end is announced too, in the
    same transaction: nobody is left believing maintenance still runs."""
    session = call.session
    window = find_window(session, command.window_id, lock=True)
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
                    "ended_by": f"deleted by {call.actor.name}",
                },
            )
        )
        call.db.wake_scheduler(session)
    deleted = WindowView.of(window)
    config_history.deleted(call, "maintenance_window", window)
    call.audit(
        "maintenance_window",
        window.window_id,
        name=window.name,
        in_progress=window.in_progress,
    )
    session.delete(window)
    return deleted
