"""What detection knows of a claimed service (medic.core.detection.ServiceFacts): its
row, its open runs, and what its rules need counted from its heartbeat history, read
only when a rule needs it (with the default rules a pass reads nothing more):

* failure reports since the last proof of life, before an alert opens
  (``alert_after_failures`` > 1). Every beat after the last proof of life that is not a
  STARTED is a failure: a FAILED or DOWN, or a COMPLETED or UP ingest judged one (too
  fast, too frequent; it would be the last proof of life otherwise);
* proofs of life since the service's last failure, before it recovers
  (``recover_after_successes`` > 1);
* a window schedule's beats in the window it missed, for the reason people read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select

from medic.core.detection import OpenRun, ServiceFacts
from medic.core.detection_rules import MAX_STREAK, missed_window, rules_of
from medic.core.schedules import Schedule, schedule_of
from medic.core.statuses import PROOF_OF_LIFE, Status
from medic.models import HeartbeatEvent, JobRun
from medic.scheduler.claims import ClaimedService

ALIVE = [status.value for status in PROOF_OF_LIFE]


@dataclass(frozen=True, slots=True)
class BeatCounts:
    failure_reports: int | None = None
    successes: int | None = None
    window_beats: int | None = None


def facts_of(
    service: ClaimedService,
    runs: Sequence[JobRun],
    default_timezone: str,
    counts: BeatCounts | None = None,
) -> ServiceFacts:
    assert service.next_due_at is not None
    counts = counts or BeatCounts()
    return ServiceFacts(
        schedule=schedule_of(service, default_timezone),
        state=service.state,
        next_due_at=service.next_due_at,
        last_alive_at=service.last_alive_at,
        last_failure_at=service.last_failure_at,
        max_duration=(
            timedelta(seconds=service.max_duration_seconds)
            if service.max_duration_seconds
            else None
        ),
        open_runs=[OpenRun(run.run_id, run.started_at) for run in runs],
        consecutive_failures=service.consecutive_failures,
        missed_deadline_at=service.missed_deadline_at,
        muted_until=service.muted_until if service.muted else None,
        rules=rules_of(service),
        failure_reports=counts.failure_reports,
        successes=counts.successes,
        failure_reason=service.last_failure_reason,
        window_beats=counts.window_beats,
    )


def service_facts(
    session: Session,
    service: ClaimedService,
    runs: Sequence[JobRun],
    now: datetime,
    default_timezone: str,
) -> ServiceFacts:
    """The service's facts, with the counts its rules need read from its history."""
    facts = facts_of(service, runs, default_timezone)
    counts = count_beats(session, service, facts.schedule, now)
    return facts_of(service, runs, default_timezone, counts) if counts != BeatCounts() else facts


def count_beats(
    session: Session, service: ClaimedService, schedule: Schedule, now: datetime
) -> BeatCounts:
    return BeatCounts(
        failure_reports=_failure_reports(session, service),
        successes=_successes(session, service, now),
        window_beats=_window_beats(session, service, schedule, now),
    )


def _failure_reports(session: Session, service: ClaimedService) -> int | None:
    if service.state == "down" or service.alert_after_failures <= 1:
        return None
    alive, failed = service.last_alive_at, service.last_failure_at
    if failed is None or (alive is not None and failed <= alive):
        return 0
    conditions = [col(HeartbeatEvent.status) != Status.STARTED.value]
    if alive is not None:
        conditions.append(col(HeartbeatEvent.time) > alive)
    return _count(session, service.service_id, conditions, MAX_STREAK)


def _successes(session: Session, service: ClaimedService, now: datetime) -> int | None:
    if service.state != "down" or service.recover_after_successes <= 1:
        return None
    missed = service.missed_deadline_at
    bad = [
        instant
        for instant in (
            service.last_failure_at,
            missed if missed is not None and missed <= now else None,
            service.state_changed_at,
        )
        if instant is not None
    ]
    since = max(bad) if bad else None
    alive = service.last_alive_at
    if alive is None or (since is not None and alive <= since):
        return 0
    conditions = [col(HeartbeatEvent.status).in_(ALIVE)]
    if since is not None:
        conditions.append(col(HeartbeatEvent.time) > since)
    return _count(session, service.service_id, conditions, service.recover_after_successes)


def _window_beats(
    session: Session, service: ClaimedService, schedule: Schedule, now: datetime
) -> int | None:
    due, alive = service.next_due_at, service.last_alive_at
    if schedule.schedule_type != "window" or due is None or due > now or alive is None:
        return None
    start, end = missed_window(schedule, due)
    if alive < start:
        return 0
    conditions = [
        col(HeartbeatEvent.status).in_(ALIVE),
        col(HeartbeatEvent.time) >= start,
        col(HeartbeatEvent.time) < end,
    ]
    return _count(session, service.service_id, conditions, schedule.threshold)


def _count(
    session: Session, service_id: int, conditions: Sequence[ColumnElement[bool]], cap: int
) -> int:
    """Matching events, counting no further than `cap` (all a rule needs to know)."""
    matching = (
        select(col(HeartbeatEvent.heartbeat_id))
        .where(col(HeartbeatEvent.service_id) == service_id, *conditions)
        .limit(cap)
        .subquery()
    )
    return int(session.exec(select(func.count()).select_from(matching)).one())
