"""Working hours: is an instant inside a team's business hours?

Evaluated in the schedule's IANA zone from the wall clock, so 09:00 is 09:00 on both
sides of a DST change. A span whose end is not after its start runs overnight
(22:00-06:00 belongs to the day it starts). Holidays (the `holidays` package, by
country and optional subdivision) are outside working hours all day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import holidays

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WorkingHoursRule:
    timezone: str
    days: tuple[str, ...]
    start: time
    end: time
    holidays_country: str | None = None
    holidays_subdivision: str | None = None


def parse_clock(value: str) -> time:
    """`HH:MM` (24 h); `24:00` is not a time, use `00:00` for midnight."""
    try:
        hours, minutes = value.split(":")
        if len(hours) != 2 or len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day as HH:MM (00:00-23:59)") from None


def parse_days(values: list[str]) -> tuple[str, ...]:
    """Day names (`mon`…`sun`, any case) and ranges like `mon-fri`."""
    chosen: set[str] = set()
    for value in values:
        first, _, last = value.strip().lower().partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{value!r} is not a day (mon…sun) or a range like mon-fri")
        start, stop = DAYS.index(first), DAYS.index(last or first)
        span = range(start, stop + 1) if start <= stop else [*range(start, 7), *range(stop + 1)]
        chosen.update(DAYS[i] for i in span)
    if not chosen:
        raise ValueError("at least one day is needed")
    return tuple(day for day in DAYS if day in chosen)


def check_holidays(country: str | None, subdivision: str | None) -> None:
    if country is None:
        if subdivision is not None:
            raise ValueError("a holiday subdivision needs a holidays country")
        return
    import holidays  # about 3 MB: imported by the first rule that names a country

    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        raise ValueError(f"no holiday calendar for country {country!r}") from None


@lru_cache(maxsize=256)
def _holiday_calendar(country: str, subdivision: str | None) -> holidays.HolidayBase:
    import holidays

    return holidays.country_holidays(country, subdiv=subdivision)


def is_holiday(rule: WorkingHoursRule, day: date) -> bool:
    if rule.holidays_country is None:
        return False
    return day in _holiday_calendar(rule.holidays_country, rule.holidays_subdivision)


def is_working_time(rule: WorkingHoursRule, instant: datetime) -> bool:
    local = instant.astimezone(ZoneInfo(rule.timezone))
    clock = local.time().replace(tzinfo=None)
    overnight = rule.end <= rule.start
    if not overnight:
        return _works_on(rule, local.date()) and rule.start <= clock < rule.end
    if clock >= rule.start:
        return _works_on(rule, local.date())
    return clock < rule.end and _works_on(rule, local.date() - timedelta(days=1))


def _works_on(rule: WorkingHoursRule, day: date) -> bool:
    return DAYS[day.weekday()] in rule.days and not is_holiday(rule, day)
