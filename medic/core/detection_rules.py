"""The rules a service may add to its schedule, and the judgements ingest and the
scheduler share. Pure.

* ``alert_after_failures`` (N) and ``recover_after_successes`` (M): an alert opens at
  the N-th failure in a row and closes at the M-th proof of life in a row; a missed
  deadline and a failure report count alike (Sentry's failure_issue_threshold and
  recovery_threshold). Both default to 1: alert at the first failure, recover at once.
* ``min_duration_seconds``: a job run that completes sooner is a failure ("finished
  in 2 s, expected at least 20 min"), not proof of life.
* ``max_beats``: a window schedule's upper bound; a beat beyond it in one window is a
  failure (too frequent), as fewer than ``threshold`` is lateness.
* ``start_grace_seconds``: how late a job's STARTED may arrive after its expected
  time; the grace period stays the time it has to complete (and ``max_duration``
  the time a run may take), so a slow job is not also a late starter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from medic.core.durations import spoken_duration
from medic.core.schedules import Schedule, window_start

MAX_STREAK = 1000
MAX_SECONDS = 366 * 86400
MAX_BEATS = 10_000


@dataclass(frozen=True, slots=True)
class Rules:
    alert_after_failures: int = 1
    recover_after_successes: int = 1
    min_duration_seconds: int | None = None
    max_beats: int | None = None
    start_grace_seconds: int | None = None

    @property
    def start_grace(self) -> timedelta | None:
        seconds = self.start_grace_seconds
        return None if seconds is None else timedelta(seconds=seconds)


def rules_of(service: Any) -> Rules:
    """A service's rules, from a row mapping or any object with the service's fields."""
    field = (
        service.get if isinstance(service, Mapping) else lambda name: getattr(service, name, None)
    )
    return Rules(
        alert_after_failures=field("alert_after_failures") or 1,
        recover_after_successes=field("recover_after_successes") or 1,
        min_duration_seconds=field("min_duration_seconds"),
        max_beats=field("max_beats"),
        start_grace_seconds=field("start_grace_seconds"),
    )


def validate_rules(rules: Rules, schedule: Schedule, max_duration_seconds: int | None) -> None:
    """Refuse rules that contradict each other or the schedule; the message names the field."""
    for name in ("alert_after_failures", "recover_after_successes"):
        value = getattr(rules, name)
        if not 1 <= value <= MAX_STREAK:
            raise ValueError(f"{name} must be between 1 and {MAX_STREAK}")
    if rules.min_duration_seconds is not None:
        if not 1 <= rules.min_duration_seconds <= MAX_SECONDS:
            raise ValueError(f"min_duration_seconds must be between 1 and {MAX_SECONDS}")
        if max_duration_seconds is not None and rules.min_duration_seconds >= max_duration_seconds:
            raise ValueError(
                "min_duration_seconds must be less than max_duration_seconds "
                f"({max_duration_seconds})"
            )
    if rules.max_beats is not None:
        if schedule.schedule_type != "window":
            raise ValueError("max_beats applies only when schedule_type is window")
        if not 1 <= rules.max_beats <= MAX_BEATS:
            raise ValueError(f"max_beats must be between 1 and {MAX_BEATS}")
        if rules.max_beats < schedule.threshold:
            raise ValueError(
                f"max_beats must be at least threshold ({schedule.threshold}), the minimum"
            )
    if rules.start_grace_seconds is not None:
        if not 1 <= rules.start_grace_seconds <= MAX_SECONDS:
            raise ValueError(f"start_grace_seconds must be between 1 and {MAX_SECONDS}")
        if rules.start_grace_seconds >= schedule.grace_period_seconds:
            raise ValueError(
                "start_grace_seconds must be less than grace_period_seconds "
                f"({schedule.grace_period_seconds}), the time a job has to complete"
            )


def too_fast(duration: timedelta, min_duration_seconds: int | None) -> str | None:
    """Why a run that took `duration` is a failure, or None when it took long enough."""
    if min_duration_seconds is None:
        return None
    expected = timedelta(seconds=min_duration_seconds)
    if duration >= expected:
        return None
    return f"finished in {spoken_duration(duration)}, expected at least {spoken_duration(expected)}"


def too_frequent(count: int, max_beats: int | None) -> str | None:
    """Why the `count`-th beat of a window is a failure, or None when it is allowed."""
    if max_beats is None or count <= max_beats:
        return None
    return f"{count} heartbeats in the window, at most {max_beats} expected"


def beats_in_window(schedule: Schedule, beats: Iterable[datetime], at: datetime) -> int:
    """How many of `beats` fall in the window holding `at`, up to and including `at`."""
    start = window_start(at, schedule.interval, schedule.timezone)
    return sum(1 for beat in beats if start <= beat <= at)


def missed_window(schedule: Schedule, next_due_at: datetime) -> tuple[datetime, datetime]:
    """The window a window schedule's deadline closes: [start, end)."""
    end = next_due_at - schedule.grace
    start = window_start(end - timedelta(microseconds=1), schedule.interval, schedule.timezone)
    return start, end


def start_deadline(schedule: Schedule, rules: Rules, next_due_at: datetime) -> datetime | None:
    """When a job that has not started is late: its expected time plus start grace."""
    grace = rules.start_grace
    return None if grace is None else next_due_at - schedule.grace + grace
