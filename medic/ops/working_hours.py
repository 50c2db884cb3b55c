"""Working-hours schedules (SRE-12): e.g. Mon-Fri 09:00-18:00 America/New_York with
US holidays, for routing rules that differ during and after hours.

Checked with the same rules that evaluate them (medic.core.working_hours) and stored
normalised (days as `mon`…`sun` in week order, times as HH:MM), so what is shown
is exactly what is evaluated. A schedule a policy names cannot be deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlmodel import col, select

from medic.config import validate_timezone
from medic.core.working_hours import check_holidays, parse_clock, parse_days
from medic.models import WorkingHours
from medic.models.columns import utcnow
from medic.ops.errors import Conflict, InvalidInput
from medic.ops.named import Name, ensure_new, find, insert, names_list
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page
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


class CreateHours(HoursFields, Command):
    name: Name = Field(max_length=255)
    timezone: str  # type: ignore[assignment]
    days: list[str] | str  # type: ignore[assignment]
    start: str  # type: ignore[assignment]
    end: str  # type: ignore[assignment]

    @model_validator(mode="after")
    def _holidays(self) -> CreateHours:
        _check_holidays(self.holidays_country, self.holidays_subdivision)
        return self

    def audit_target(self) -> tuple[str | None, object]:
        return "working_hours", self.name


class HoursChanges(HoursFields):
    """Fields left out stay; holidays may be set to null (no holidays)."""


class HoursCommand(Command):
    """A command about one working-hours schedule, by its exact name."""

    name: str

    def audit_target(self) -> tuple[str | None, object]:
        return "working_hours", self.name


class UpdateHours(HoursCommand):
    changes: HoursChanges


class DeleteHours(HoursCommand):
    """Refused while a routing policy's rule names the schedule."""


class GetHours(HoursCommand):
    pass


class ListHours(Command):
    limit: int | None = Field(default=None, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)


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
    """The calendar must exist; a wrong subdivision is told apart from a wrong country.
    ValueError names the field."""
    if country is not None and subdivision is not None:
        _check_holidays(country, None)
        try:
            check_holidays(country, subdivision)
        except ValueError:
            raise ValueError(
                f"holidays_subdivision: {country} has no holiday subdivision {subdivision!r}"
            ) from None
        return
    try:
        check_holidays(country, subdivision)
    except ValueError as exc:
        field = "holidays_country" if country else "holidays_subdivision"
        raise ValueError(f"{field}: {exc}") from None


def _snapshot(hours: WorkingHours) -> dict[str, Any]:
    return {field: getattr(hours, field) for field in FIELDS}


@operation("working_hours.create", scope="admin", audit="working_hours.create")
def create_hours(call: Call, command: CreateHours) -> HoursView:
    hours = WorkingHours(name=command.name, **command.model_dump(include=set(FIELDS)))
    ensure_new(call.session, WorkingHours, command.name, WHAT)
    insert(call.session, hours, WHAT)
    call.audit("working_hours", hours.working_hours_id, name=hours.name, **_snapshot(hours))
    return HoursView.of(hours)


@operation("working_hours.update", scope="admin", audit="working_hours.update")
def update_hours(call: Call, command: UpdateHours) -> HoursView:
    values = command.changes.model_dump(exclude_unset=True)
    if not values:
        raise InvalidInput("no fields to update")
    for field in ("timezone", "days", "start", "end"):
        if field in values and values[field] is None:
            raise InvalidInput(f"{field} must not be null")
    hours = find(call.session, WorkingHours, command.name, WHAT, lock=True)
    before = _snapshot(hours)
    if values.get("holidays_country", hours.holidays_country) is None:
        values.setdefault("holidays_subdivision", None)
    for field, value in values.items():
        setattr(hours, field, value)
    # The calendar is checked as it will be stored: the change merged into the schedule.
    try:
        _check_holidays(hours.holidays_country, hours.holidays_subdivision)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    hours.updated_at = utcnow()
    call.session.add(hours)
    call.audit(
        "working_hours",
        hours.working_hours_id,
        name=hours.name,
        before=before,
        after=_snapshot(hours),
    )
    return HoursView.of(hours)


@operation("working_hours.delete", scope="admin", audit="working_hours.delete")
def delete_hours(call: Call, command: DeleteHours) -> HoursView:
    """Refused while a routing policy's rule names the schedule."""
    hours = find(call.session, WorkingHours, command.name, WHAT, lock=True)
    users = policies_naming(call.session, "working_hours", hours.name)
    if users:
        raise Conflict(
            f"working hours {hours.name!r} are used by routing "
            f"polic{'ies' if len(users) > 1 else 'y'} {names_list(users)}; change them first"
        )
    deleted = HoursView.of(hours)
    call.audit("working_hours", hours.working_hours_id, name=hours.name)
    call.session.delete(hours)
    return deleted


@operation("working_hours.get", scope="read")
def get_hours(call: Call, command: GetHours) -> HoursView:
    return HoursView.of(find(call.session, WorkingHours, command.name, WHAT))


@operation("working_hours.list", scope="read")
def list_hours(call: Call, query: ListHours) -> tuple[list[HoursView], int]:
    """By name."""
    rows, total = fetch_page(
        call.session, select(WorkingHours), [col(WorkingHours.name)], query.limit, query.offset
    )
    return [HoursView.of(row) for row in rows], total
