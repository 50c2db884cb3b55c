"""The alert state machine: given what is known about a service at `now`, what must
change. Pure; medic.scheduler reads the facts under a row lock and applies the verdict.

A service is failing when one of these holds, checked in this order:

* ``failed``: it reported FAILED or DOWN after its last proof of life;
* ``hung``: a run it STARTED is past ``max_duration`` with no proof of life since;
* ``late``: its deadline (``next_due_at``) passed. If a run is still open, the reason
  says so: a STARTED run with no COMPLETED/FAILED is late at the schedule's deadline;
  a window schedule says how many of its beats the window got;
* ``not_started``: a job with a start grace has no run open after its expected time
  plus that grace (medic.core.detection_rules).

A failing service that is not ``down`` goes down (one alert opens) at its
``alert_after_failures``-th failure in a row (missed deadlines and failure reports
alike); before that it is failing but quiet (pending). A ``down`` service that is no
longer failing recovers (its alert closes) at its ``recover_after_successes``-th proof
of life in a row. In between nothing is notified again; missed deadlines are counted,
one per deadline, never per scheduler pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from medic.core.detection_rules import Rules, missed_window, start_deadline
from medic.core.durations import format_duration, spoken_duration
from medic.core.schedules import Schedule, deadlines_between, following_deadline


class Action(StrEnum):
    NOTHING = "nothing"
    OPEN = "open"
    RECOVER = "recover"
    STILL_DOWN = "still_down"
    # Failing, but fewer failures in a row than alert_after_failures: counted, quiet.
    PENDING = "pending"
    # Down, healthy again, but fewer successes in a row than recover_after_successes.
    RECOVERING = "recovering"
    # A pending service is healthy again before it alerted: its count starts over.
    CLEARED = "cleared"


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
    rules: Rules = field(default_factory=Rules)
    # Failure reports since the last proof of life; None: not counted (alert at the first).
    failure_reports: int | None = None
    # Proofs of life since the last failure, while down; None: not counted (recover at once).
    successes: int | None = None
    # Why the last failure report is one when it is not a FAILED/DOWN (too fast, too often).
    failure_reason: str | None = None
    # Proof-of-life beats in the window a window schedule's deadline closed.
    window_beats: int | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # failed | hung | late | not_started
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
        if facts.failure_reason:
            return Problem("failed", f"{facts.failure_reason} ({stamp(facts.last_failure_at)})")
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
        if facts.schedule.schedule_type == "window" and facts.window_beats is not None:
            start, end = missed_window(facts.schedule, facts.next_due_at)
            return Problem(
                "late",
                f"{facts.window_beats} of {facts.schedule.threshold} heartbeats in the window "
                f"{stamp(start)} to {stamp(end)}",
            )
        return Problem(
            "late",
            f"no heartbeat since {stamp(alive)} (due at {stamp(facts.next_due_at)})",
        )
    start = start_deadline(facts.schedule, facts.rules, facts.next_due_at)
    if start is not None and start <= now and not runs:
        expected = facts.next_due_at - facts.schedule.grace
        grace = spoken_duration(start - expected)
        return Problem(
            "not_started",
            f"did not start by {stamp(start)} (expected at {stamp(expected)}, start grace {grace})",
        )
    return None


def evaluate(facts: ServiceFacts, now: datetime) -> Verdict:
    problem = find_problem(facts, now)
    unmute = facts.muted_until is not None and facts.muted_until <= now
    if problem is None:
        return _healthy(facts, now, unmute)
    if facts.state == "down":
        counted, missed_at = _count_missed(facts, now)
        failures = facts.consecutive_failures + counted
        action = Action.STILL_DOWN
    else:
        # Counted afresh from the last proof of life (a pending count is not added to).
        counted, missed_at = _count_missed(replace(facts, missed_deadline_at=None), now)
        if problem.kind == "not_started" and counted == 0:
            # This occurrence's miss, counted once: its completion deadline is not again.
            counted, missed_at = 1, facts.next_due_at
        failures = max(1, counted + (facts.failure_reports or 0))
        action = Action.OPEN if failures >= facts.rules.alert_after_failures else Action.PENDING
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


def _healthy(facts: ServiceFacts, now: datetime, unmute: bool) -> Verdict:
    """No problem now: recover (once enough successes are in a row), or start over."""
    check_at = _next_check(facts, now, None)
    if facts.state == "down":
        needed = facts.rules.recover_after_successes
        if facts.successes is not None and facts.successes < needed:
            # Still down; a missed deadline before enough successes counts as a failure.
            return Verdict(
                Action.RECOVERING,
                consecutive_failures=facts.consecutive_failures,
                missed_deadline_at=facts.missed_deadline_at,
                check_at=_next_check(facts, now, facts.next_due_at),
                unmute=unmute,
            )
        return Verdict(Action.RECOVER, check_at=check_at, unmute=unmute)
    if facts.consecutive_failures > 0:
        return Verdict(Action.CLEARED, check_at=check_at, unmute=unmute)
    return Verdict(Action.NOTHING, check_at=check_at, unmute=unmute)


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
    runs = _live_runs(facts)
    for run in runs:
        deadline = run_deadline(run, facts.max_duration)
        if deadline is not None and deadline > now:
            candidates.append(deadline)
    start = start_deadline(facts.schedule, facts.rules, facts.next_due_at)
    if start is not None and start > now and not runs:
        candidates.append(start)
    if facts.muted_until is not None and facts.muted_until > now:
        candidates.append(facts.muted_until)
    return min(candidates) if candidates else None


def stamp(instant: datetime) -> str:
    """How instants read in reasons people see."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
