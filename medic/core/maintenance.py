"""Maintenance windows as pure rules: is a window open at an instant, and when does
it next open or close. One-time windows run from `starts_at` to `ends_at`; recurring
ones open at each fire time of a cron expression in an IANA timezone (with the DST
rules of medic.core.schedules: a fire in a gap is skipped, a repeated hour fires
once) and stay open `duration_minutes`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from medic.core.schedules import next_cron_fire

_MAX_OCCURRENCES = 10_000


@dataclass(frozen=True, slots=True)
class WindowRule:
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    cron_expression: str | None = None
    duration_minutes: int | None = None
    timezone: str = "UTC"
    service_ids: tuple[int, ...] | None = None  # None: every service

    @property
    def recurring(self) -> bool:
        return self.cron_expression is not None

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes or 0)


def occurrence_at(rule: WindowRule, now: datetime) -> tuple[datetime, datetime] | None:
    """The occurrence (start, end) open at `now`, if any; start inclusive, end exclusive."""
    if not rule.recurring:
        start, end = rule.starts_at, rule.ends_at
        if start is not None and end is not None and start <= now < end:
            return start, end
        return None
    # Only fires after now - duration can still be open at now; of those open, the
    # latest-starting ends last (occurrences may touch or overlap).
    expression, found = rule.cron_expression or "", None
    start = next_cron_fire(expression, rule.timezone, now - rule.duration)
    for _ in range(_MAX_OCCURRENCES):
        if start > now:
            break
        if now < start + rule.duration:
            found = (start, start + rule.duration)
        start = next_cron_fire(expression, rule.timezone, start)
    return found


def next_transition(rule: WindowRule, now: datetime) -> datetime | None:
    """When the window next opens or closes after `now`; None once it never will again."""
    occurrence = occurrence_at(rule, now)
    if occurrence is not None:
        return occurrence[1]
    if not rule.recurring:
        return rule.starts_at if rule.starts_at is not None and rule.starts_at > now else None
    return next_cron_fire(rule.cron_expression or "", rule.timezone, now)


def covers(rule: WindowRule, service_id: int, now: datetime) -> bool:
    if rule.service_ids is not None and service_id not in rule.service_ids:
        return False
    return occurrence_at(rule, now) is not None
