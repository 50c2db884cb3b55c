"""When does a service become late? (`next_due_at`)

Detection keeps one instant per service, recomputed on every heartbeat and every
configuration change, instead of re-counting heartbeats on a timer. The three
kinds of schedule:

* ``interval``: v1 semantics. Late when fewer than ``threshold`` proof-of-life
  beats fall in the last ``alert_interval`` minutes, i.e. at the
  ``threshold``-th newest beat + interval.
* ``cron``: a beat is expected at every fire time of ``cron_expression`` in the
  service's IANA timezone; late at the first fire time after the last beat.
  A fire time inside a DST gap is skipped; a repeated wall-clock hour fires once.
* ``window``: at least ``threshold`` beats in each calendar window of
  ``alert_interval`` minutes, windows aligned to local midnight.

``grace_period_seconds`` is added to each. A service that never beat is due
counted from its registration, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

SCHEDULE_TYPES = ("interval", "cron", "window")
_MAX_CRON_STEPS = 1000


@dataclass(frozen=True, slots=True)
class Schedule:
    schedule_type: str = "interval"
    alert_interval_minutes: int = 1
    threshold: int = 1
    cron_expression: str | None = None
    timezone: str = "UTC"
    grace_period_seconds: int = 0

    @property
    def interval(self) -> timedelta:
        return _minutes(self.alert_interval_minutes)

    @property
    def grace(self) -> timedelta:
        return _seconds(self.grace_period_seconds)


# Every heartbeat's due time adds both; the same few lengths come back. (An unvalidated
# length too large for a timedelta still raises when it is used.)
@lru_cache(maxsize=1024)
def _minutes(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)


@lru_cache(maxsize=1024)
def _seconds(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


def schedule_of(service: Any, default_timezone: str) -> Schedule:
    """A service's schedule, from a row mapping or any object with the service's fields."""
    value = service.__getitem__ if isinstance(service, Mapping) else service.__getattribute__
    # Positional: the cache builds its key faster than from keywords.
    return _schedule(
        value("schedule_type"),
        value("alert_interval"),
        value("threshold"),
        value("cron_expression"),
        value("timezone") or default_timezone,
        value("grace_period_seconds"),
    )


# One Schedule per configuration: a batch of heartbeats asks for every service's
# schedule, and the same few configurations come back (immutable, so shared).
_schedule = lru_cache(maxsize=4096)(Schedule)


def validate_schedule(schedule: Schedule) -> None:
    """Refuse a schedule that could never be evaluated, so one bad row never stops detection."""
    if schedule.schedule_type not in SCHEDULE_TYPES:
        raise ValueError(f"schedule_type must be one of {', '.join(SCHEDULE_TYPES)}")
    if schedule.alert_interval_minutes < 1:
        raise ValueError("alert_interval must be at least 1 minute")
    if schedule.alert_interval_minutes > 366 * 24 * 60:
        raise ValueError("alert_interval must be at most 366 days")
    if schedule.threshold < 1:
        raise ValueError("threshold must be at least 1")
    if schedule.threshold > 10_000:
        raise ValueError("threshold must be at most 10000")
    if not 0 <= schedule.grace_period_seconds <= 366 * 86400:
        raise ValueError("grace_period_seconds must be between 0 and 31622400")
    if schedule.schedule_type == "cron":
        if not schedule.cron_expression:
            raise ValueError("cron_expression is required when schedule_type is cron")
        if not croniter.is_valid(schedule.cron_expression):
            raise ValueError(f"cron_expression {schedule.cron_expression!r} is not valid")
        if len(schedule.cron_expression.split()) != 5:
            raise ValueError(
                "cron_expression must have five fields (minute hour day month weekday)"
            )
        if not _ever_fires(schedule.cron_expression):
            raise ValueError(
                f"cron_expression {schedule.cron_expression!r} names a date that never "
                "comes (e.g. February 30)"
            )


def _ever_fires(expression: str) -> bool:
    """Whether the expression names an instant within eight years (which covers every
    leap day); croniter gives up on impossible dates by raising."""
    start = datetime(2000, 1, 1)
    try:
        return croniter(expression, start).get_next(datetime) < start.replace(year=2008)
    except (CroniterBadDateError, ValueError, OverflowError):
        return False


def next_due_at(
    schedule: Schedule, recent_beats: Sequence[datetime], registered_at: datetime
) -> datetime:
    """The instant the service becomes late if nothing more arrives.

    `recent_beats` are proof-of-life beat times, newest first; at least
    `threshold` of them when that many exist.
    """
    if schedule.schedule_type == "cron":
        anchor = recent_beats[0] if recent_beats else registered_at
        return (
            next_cron_fire(schedule.cron_expression or "", schedule.timezone, anchor)
            + schedule.grace
        )
    if schedule.schedule_type == "window":
        return _window_due(schedule, recent_beats, registered_at) + schedule.grace
    if len(recent_beats) >= schedule.threshold:
        return recent_beats[schedule.threshold - 1] + schedule.interval + schedule.grace
    return registered_at + schedule.interval + schedule.grace


def next_cron_fire(expression: str, timezone: str, after: datetime) -> datetime:
    """First fire time strictly after `after`, in UTC; DST gaps skip, repeated hours fire once."""
    zone = ZoneInfo(timezone)
    iterator = croniter(expression, after.astimezone(zone))
    for _ in range(_MAX_CRON_STEPS):
        candidate: datetime = iterator.get_next(datetime)
        if _in_dst_gap(candidate, expression) or _is_repeat_of_earlier_hour(candidate):
            continue
        return candidate.astimezone(UTC)
    raise ValueError(f"cron expression {expression!r} has no fire time in reach")


def _in_dst_gap(candidate: datetime, expression: str) -> bool:
    """croniter moves a fire time that falls in a DST gap to the gap's end; we skip it instead.

    Matched on the naive local wall time: matching the aware candidate lets croniter
    find the same moved fire time again, so a gap fire would never be detected.
    """
    return not croniter.match(expression, candidate.replace(tzinfo=None))


def _is_repeat_of_earlier_hour(candidate: datetime) -> bool:
    """In a repeated hour (fall back), the second occurrence (fold=1) is a repeat."""
    if candidate.fold != 1:
        return False
    first = candidate.replace(fold=0)
    return first.utcoffset() != candidate.utcoffset()


def window_start(instant: datetime, window: timedelta, timezone: str) -> datetime:
    """Start of the calendar window holding `instant`, windows aligned to local midnight.

    Windows are counted in elapsed time from local midnight (in UTC), so the window
    always holds `instant`, also on a day with a DST gap or a repeated hour (aware
    arithmetic in one zone is wall-clock arithmetic and ignores both). A day has no
    more windows than a 24-hour day: on a longer (fall-back) day the last window runs
    on to midnight instead of leaving a sliver (a daily window is the whole day).
    """
    local = instant.astimezone(ZoneInfo(timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, fold=0).astimezone(UTC)
    windows_per_day = -(-timedelta(days=1) // window)
    windows_done = min((instant.astimezone(UTC) - midnight) // window, windows_per_day - 1)
    return midnight + windows_done * window


def _window_due(
    schedule: Schedule, recent_beats: Sequence[datetime], registered_at: datetime
) -> datetime:
    if not recent_beats:
        start = window_start(registered_at, schedule.interval, schedule.timezone)
        return _window_end(start, schedule)
    newest = recent_beats[0]
    current_start = window_start(newest, schedule.interval, schedule.timezone)
    in_current = sum(1 for beat in recent_beats if beat >= current_start)
    current_end = _window_end(current_start, schedule)
    if in_current >= schedule.threshold:
        return _window_end(current_end, schedule)
    return current_end


def _window_end(start: datetime, schedule: Schedule) -> datetime:
    """Windows never cross local midnight: the last one of a day is cut short there."""
    end = start + schedule.interval
    zone = ZoneInfo(schedule.timezone)
    local_start = start.astimezone(zone)
    next_midnight = (local_start + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    if window_start(end, schedule.interval, schedule.timezone) == start:
        return next_midnight.astimezone(UTC)  # the last window of a long day runs on to midnight
    return min(end, next_midnight.astimezone(UTC))


def following_deadline(schedule: Schedule, deadline: datetime) -> datetime:
    """The deadline after `deadline` if still nothing arrives: how missed deadlines are counted."""
    if schedule.schedule_type == "cron":
        fire = next_cron_fire(
            schedule.cron_expression or "", schedule.timezone, deadline - schedule.grace
        )
        return fire + schedule.grace
    if schedule.schedule_type == "window":
        return _window_end(deadline - schedule.grace, schedule) + schedule.grace
    return deadline + schedule.interval


def deadlines_between(
    schedule: Schedule, after: datetime, until: datetime, limit: int = 1000
) -> list[datetime]:
    """The deadlines `following_deadline` yields after `after`, up to and including `until`.

    At most `limit` of them: a service down for months is not re-counted fire by fire.
    """
    if schedule.schedule_type == "interval":
        count = min(limit, max(0, (until - after) // schedule.interval))
        return [after + schedule.interval * (n + 1) for n in range(count)]
    found: list[datetime] = []
    deadline = following_deadline(schedule, after)
    while deadline <= until and len(found) < limit:
        found.append(deadline)
        deadline = following_deadline(schedule, deadline)
    return found
