"""Working-hours schedules (SRE-12): e.g. Mon-Fri 09:00-18:00 America/New_York with
US holidays, for routing rules that differ during and after hours.

Checked with the same rules that evaluate them (medic.core.working_hours) and stored
normalised (days as `mon`…`sun` in week order, times as HH:MM), so what is shown
is exactly what is evaluated. A schedule a policy names cannot be deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import col, select

from medic.config import validate_timezone
from medic.core.working_hours import check_holidays, parse_clock, parse_days
from medic.db import Database
from medic.models import WorkingHours
from medic.models.columns import utcnow
from medic.ops import audit
from medic.ops.actor import Actor
from medic.ops.errors import Conflict, InvalidInput
from medic.ops.named import Name, ensure_new, find, insert, names_list
from medic.ops.paging import fetch_page
from medic.ops.targets import policies_naming

WHAT = "working hours schedule"
FIELDS = ("timezone", "days", "start", "end", "holidays_country", "holidays_subdivision")


def _days(value: str | list[str] | None) -> list[str] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    return list(parse_days([item for item in items if item.strip()]))


def _timezone(value: str | None) -> str | None:
    return None if value is None else validate_timezone(value)


def _clock(value: str | None) -> str | None:
    return None if value is None else parse_clock(value).strftime("%H:%M")


def _code(value: str | None) -> str | None:
    return None if value is None or value == "" else value.upper()


class HoursFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    timezone: str | None = Field(default=None, description="IANA name, e.g. America/New_York")
    days: list[str] | str | None = Field(
        default=None, description="day names and ranges: ['mon-fri'] or 'mon,wed,fri'"
    )
    start: str | None = Field(default=None, description="HH:MM local time")
    end: str | None = Field(default=None, description="HH:MM; not after start: runs overnight")
    holidays_country: str | None = Field(
        default=None, max_length=8, description="ISO country code, e.g. US: holidays are off"
    )
    holidays_subdivision: str | None = Field(default=None, max_length=16, description="e.g. CA")

    _timezone = field_validator("timezone")(_timezone)
    _days = field_validator("days")(_days)
    _clock = field_validator("start", "end")(_clock)
    _code = field_validator("holidays_country", "holidays_subdivision")(_code)


class HoursSpec(HoursFields):
    name: Name = Field(max_length=255)
    timezone: str  # type: ignore[assignment]
    days: list[str] | str  # type: ignore[assignment]
    start: str  # type: ignore[assignment]
    end: str  # type: ignore[assignment]


class HoursChanges(HoursFields):
    """Fields left out stay; holidays may be set to null (no holidays)."""


class HoursView(BaseModel):
    working_hours_id: int
    name: str
    timezone: str
    days: list[str]
    start: str
    end: str
    overnight: bool
    holidays_country: str | None
    holidays_subdivision: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, hours: WorkingHours) -> HoursView:
        return cls.model_validate({**hours.model_dump(), "overnight": hours.end <= hours.start})


def _check_holidays(country: str | None, subdivision: str | None) -> None:
    """The calendar must exist; a wrong subdivision is told apart from a wrong country."""
    if country is not None and subdivision is not None:
        _check_holidays(country, None)
        try:
            check_holidays(country, subdivision)
        except ValueError:
            raise InvalidInput(
                f"holidays_subdivision: {country} has no holiday subdivision {subdivision!r}"
            ) from None
        return
    try:
        check_holidays(country, subdivision)
    except ValueError as exc:
        field = "holidays_country" if country else "holidays_subdivision"
        raise InvalidInput(f"{field}: {exc}") from None


def _snapshot(hours: WorkingHours) -> dict[str, Any]:
    return {field: getattr(hours, field) for field in FIELDS}


def create_hours(db: Database, actor: Actor, spec: HoursSpec) -> WorkingHours:
    actor.require("write")
    _check_holidays(spec.holidays_country, spec.holidays_subdivision)
    hours = WorkingHours(name=spec.name, **spec.model_dump(include=set(FIELDS)))
    with db.session() as session:
        ensure_new(session, WorkingHours, spec.name, WHAT)
        insert(session, hours, WHAT)
        audit.record(
            session,
            actor,
            "working_hours.create",
            "working_hours",
            hours.working_hours_id,
            name=hours.name,
            **_snapshot(hours),
        )
    return hours


def update_hours(db: Database, actor: Actor, name: str, changes: HoursChanges) -> WorkingHours:
    actor.require("write")
    values = changes.model_dump(exclude_unset=True)
    if not values:
        raise InvalidInput("no fields to update")
    for field in ("timezone", "days", "start", "end"):
        if field in values and values[field] is None:
            raise InvalidInput(f"{field} must not be null")
    with db.session() as session:
        hours = find(session, WorkingHours, name, WHAT, lock=True)
        before = _snapshot(hours)
        if values.get("holidays_country", hours.holidays_country) is None:
            values.setdefault("holidays_subdivision", None)
        for field, value in values.items():
            setattr(hours, field, value)
        _check_holidays(hours.holidays_country, hours.holidays_subdivision)
        hours.updated_at = utcnow()
        session.add(hours)
        audit.record(
            session,
            actor,
            "working_hours.update",
            "working_hours",
            hours.working_hours_id,
            name=hours.name,
            before=before,
            after=_snapshot(hours),
        )
    return hours


def delete_hours(db: Database, actor: Actor, name: str) -> WorkingHours:
    """Refused while a routing policy's rule names the schedule."""
    actor.require("write")
    with db.session() as session:
        hours = find(session, WorkingHours, name, WHAT, lock=True)
        users = policies_naming(session, "working_hours", hours.name)
        if users:
            raise Conflict(
                f"working hours {hours.name!r} are used by routing "
                f"polic{'ies' if len(users) > 1 else 'y'} {names_list(users)}; change them first"
            )
        audit.record(
            session,
            actor,
            "working_hours.delete",
            "working_hours",
            hours.working_hours_id,
            name=hours.name,
        )
        session.delete(hours)
    return hours


def get_hours(db: Database, actor: Actor, name: str) -> WorkingHours:
    actor.require("read")
    with db.session() as session:
        return find(session, WorkingHours, name, WHAT)


def list_hours(
    db: Database, actor: Actor, limit: int | None = None, offset: int = 0
) -> tuple[list[WorkingHours], int]:
    actor.require("read")
    with db.session() as session:
        return fetch_page(session, select(WorkingHours), [col(WorkingHours.name)], limit, offset)
