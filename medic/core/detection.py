"""The alert state machine: given what is known about a service at `now`, what must
change. Pure; medic.scheduler reads the facts under a row lock and applies the verdict.

A service is failing when one of these holds, checked in this order:

* ``failed``: it reported FAILED or DOWN after its last proof of life;
* ``hung``: a run it STARTED is past ``max_duration`` with no proof of life since;
* ``late``: its deadline (``next_due_at``) passed. If a run is still open, the reason
  says so: a STARTED run with no COMPLETED/FAILED is late at the schedule's deadline.

A failing service that is not ``down`` goes down (one alert opens); a ``down`` service
that is no longer failing recovers (its alert closes). In between nothing is notified
again; missed deadlines are counted, one per deadline, never per scheduler pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from medic.core.durations import format_duration
from medic.core.schedules import Schedule, deadlines_between, following_deadline


class Action(StrEnum):
    NOTHING = "nothing"
    OPEN = "open"
    RECOVER = "recover"
    STILL_DOWN = "still_down"


@dataclass(frozen=True, slots=True)
class OpenRun:
    run_id: str | None
    started_at: datetime

    def describe(self) -> str:
        name = f"run {self.run_id}" if self.run_id else "the run"
        return f"{name} started at {stamp(self.started_at)}"


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    schedule: Schedule
    state: str
    next_due_at: datetime
    last_alive_at: datetime | None = None
    last_failure_at: datetime | None = None
    max_duration: timedelta | None = None
    open_runs: Sequence[OpenRun] = ()
    consecutive_failures: int = 0
    missed_deadline_at: datetime | None = None
    muted_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # failed | hung | late
    reason: str
    run: OpenRun | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    problem: Problem | None = None
    consecutive_failures: int = 0
    missed_deadline_at: datetime | None = None
    # When to look again for something next_due_at does not cover (None: nothing).
    check_at: datetime | None = None
    unmute: bool = False


def run_deadline(run: OpenRun, max_duration: timedelta | None) -> datetime | None:
    return None if max_duration is None else run.started_at + max_duration


def _live_runs(facts: ServiceFacts) -> list[OpenRun]:
    """Open runs not superseded by a later proof of life, oldest first."""
    alive = facts.last_alive_at
    return sorted(
        (run for run in facts.open_runs if alive is None or run.started_at >= alive),
        key=lambda run: run.started_at,
    )


def find_problem(facts: ServiceFacts, now: datetime) -> Problem | None:
    alive = facts.last_alive_at
    if facts.last_failure_at is not None and (alive is None or facts.last_failure_at > alive):
        return Problem("failed", f"reported a failure at {stamp(facts.last_failure_at)}")
    runs = _live_runs(facts)
    for run in runs:
        deadline = run_deadline(run, facts.max_duration)
        if deadline is not None and deadline <= now:
            limit = format_duration(facts.max_duration) if facts.max_duration else ""
            return Problem("hung", f"{run.describe()} is still running after {limit}", run)
    if facts.next_due_at <= now:
        if runs:
            return Problem("late", f"{runs[0].describe()} has not completed", runs[0])
        if alive is None:
            return Problem("late", f"never sent a heartbeat (due at {stamp(facts.next_due_at)})")
        return Problem(
            "late",
            f"no heartbeat since {stamp(alive)} (due at {stamp(facts.next_due_at)})",
        )
    return None


def evaluate(facts: ServiceFacts, now: datetime) -> Verdict:
    problem = find_problem(facts, now)
    unmute = facts.muted_until is not None and facts.muted_until <= now
    if problem is None:
        action = Action.RECOVER if facts.state == "down" else Action.NOTHING
        return Verdict(action, check_at=_next_check(facts, now, None), unmute=unmute)
    counted, missed_at = _count_missed(facts, now)
    if facts.state == "down":
        failures = facts.consecutive_failures + counted
        action = Action.STILL_DOWN
    else:
        failures = max(1, counted)
        action = Action.OPEN
    next_count = (
        following_deadline(facts.schedule, missed_at)
        if missed_at is not None and missed_at >= facts.next_due_at
        else facts.next_due_at
    )
    return Verdict(
        action,
        problem,
        consecutive_failures=failures,
        missed_deadline_at=missed_at,
        check_at=_next_check(facts, now, next_count),
        unmute=unmute,
    )


def _count_missed(facts: ServiceFacts, now: datetime) -> tuple[int, datetime | None]:
    """Deadlines passed and not yet counted, and the latest deadline counted so far."""
    if facts.next_due_at > now:
        return 0, facts.missed_deadline_at
    previous = facts.missed_deadline_at
    if previous is None or previous < facts.next_due_at:
        count, last = _deadlines_after(facts.schedule, facts.next_due_at, now)
        return 1 + count, last or facts.next_due_at
    count, last = _deadlines_after(facts.schedule, previous, now)
    return count, last or previous


DEADLINES_PER_CHUNK = 1000


def _deadlines_after(
    schedule: Schedule, after: datetime, until: datetime
) -> tuple[int, datetime | None]:
    """How many deadlines follow `after` up to `until`, and the last of them. Interval
    schedules are counted by arithmetic, however long the outage; cron and window ones
    fire by fire, in chunks, so every deadline up to `until` is counted now and the next
    check is always in the future."""
    if schedule.schedule_type == "interval":
        count = max(0, (until - after) // schedule.interval)
        return count, (after + schedule.interval * count if count else None)
    count, last = 0, None
    while True:
        later = deadlines_between(schedule, last or after, until, DEADLINES_PER_CHUNK)
        count += len(later)
        last = later[-1] if later else last
        if len(later) < DEADLINES_PER_CHUNK:
            return count, last


def _next_check(facts: ServiceFacts, now: datetime, next_count: datetime | None) -> datetime | None:
    """The earliest future instant that matters beyond the healthy deadline: a missed
    deadline to count while down, a run reaching max_duration, a mute expiring."""
    candidates = [] if next_count is None else [next_count]
    for run in _live_runs(facts):
        deadline = run_deadline(run, facts.max_duration)
        if deadline is not None and deadline > now:
            candidates.append(deadline)
    if facts.muted_until is not None and facts.muted_until > now:
        candidates.append(facts.muted_until)
    return min(candidates) if candidates else None


def stamp(instant: datetime) -> str:
    """How instants read in reasons people see."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
