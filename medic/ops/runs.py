"""Reading a service's job runs (SRE-15/16) and its state history.

Runs are written by ingest (medic.ingest.job_runs): STARTED opens one, COMPLETED or
FAILED finishes it, a new STARTED of the same run abandons it, and each service keeps
its newest `RUNS_KEPT`. History is written by detection (medic.scheduler.evaluator):
one row per state change, with the reason.

Durations are `finished_at - started_at` of runs whose outcome is completed or failed
(an abandoned run never ended, so it has no duration), in milliseconds. Percentiles
use the nearest-rank method: the p-th percentile of n sorted durations is the one at
1-based rank ceil(p / 100 * n), always a duration that was actually measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from medic.ingest.job_runs import RUNS_KEPT
from medic.models import JobRun, StateChange
from medic.ops.fields import ServiceRef
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page
from medic.ops.services import find_service

MEASURED = ("completed", "failed")


class RunView(BaseModel):
    """One job run, from STARTED to COMPLETED or FAILED."""

    run_pk: int
    run_id: str | None
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None = Field(description="completed, failed or abandoned; null while open")
    duration_ms: float | None = Field(description="completed and failed runs only")
    timed_out_at: datetime | None = Field(description="when detection reported it hung")

    @classmethod
    def of(cls, run: JobRun) -> RunView:
        assert run.run_pk is not None
        return cls(
            run_pk=run.run_pk,
            run_id=run.run_id,
            started_at=run.started_at,
            finished_at=run.finished_at,
            outcome=run.outcome,
            duration_ms=duration_ms(run),
            timed_out_at=run.timed_out_at,
        )


class RunStats(BaseModel):
    """Run durations over the newest runs, in milliseconds (nearest-rank percentiles)."""

    service_id: int
    heartbeat_name: str
    runs: int = Field(description=f"runs looked at: the newest {RUNS_KEPT}")
    count: int = Field(description="of those, finished with a duration (completed or failed)")
    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    last_ms: float | None = Field(description="the duration of the run that finished last")
    completed: int
    failed: int
    abandoned: int
    open: int
    max_duration_seconds: int | None


class StateChangeView(BaseModel):
    """A service went down or came back, and why."""

    change_id: int
    service_id: int
    at: datetime
    from_state: str
    to_state: str
    reason: str
    alert_id: int | None

    @classmethod
    def of(cls, change: StateChange) -> StateChangeView:
        assert change.change_id is not None
        return cls(
            change_id=change.change_id,
            service_id=change.service_id,
            at=change.at,
            from_state=change.from_state,
            to_state=change.to_state,
            reason=change.reason,
            alert_id=change.alert_id,
        )


class ServiceQuery(Command):
    """A read about one service, by id or heartbeat name."""

    service: ServiceRef


class GetRunStats(ServiceQuery):
    pass


class ListRuns(ServiceQuery):
    limit: int | None = Field(default=None, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)


class ListStateChanges(ServiceQuery):
    limit: int | None = Field(default=None, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)


def duration_ms(run: JobRun) -> float | None:
    if run.outcome not in MEASURED or run.finished_at is None:
        return None
    return (run.finished_at - run.started_at).total_seconds() * 1000


def nearest_rank(ordered: Sequence[float], percentile: float) -> float | None:
    """The nearest-rank percentile of ascending `ordered` (None when it is empty)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(percentile / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@operation("run.stats", scope="read")
def run_stats(call: Call, query: GetRunStats) -> RunStats:
    """Duration statistics over the newest RUNS_KEPT runs; no runs gives count 0 and nulls."""
    service = find_service(call.session, query.service)
    assert service.service_id is not None
    runs = list(
        call.session.exec(
            select(JobRun)
            .where(JobRun.service_id == service.service_id)
            .order_by(col(JobRun.started_at).desc(), col(JobRun.run_pk).desc())
            .limit(RUNS_KEPT)
        )
    )
    measured = [(duration, run) for run in runs if (duration := duration_ms(run)) is not None]
    durations = sorted(duration for duration, _run in measured)
    # The run that finished last (ties: the one recorded last).
    last = max(measured, key=lambda pair: (pair[1].finished_at, pair[1].run_pk), default=None)
    outcomes = [run.outcome for run in runs]
    return RunStats(
        service_id=service.service_id,
        heartbeat_name=service.heartbeat_name,
        runs=len(runs),
        count=len(durations),
        avg_ms=sum(durations) / len(durations) if durations else None,
        p50_ms=nearest_rank(durations, 50),
        p95_ms=nearest_rank(durations, 95),
        p99_ms=nearest_rank(durations, 99),
        last_ms=None if last is None else last[0],
        completed=outcomes.count("completed"),
        failed=outcomes.count("failed"),
        abandoned=outcomes.count("abandoned"),
        open=sum(1 for run in runs if run.finished_at is None),
        max_duration_seconds=service.max_duration_seconds,
    )


@operation("run.list", scope="read")
def list_runs(call: Call, query: ListRuns) -> tuple[list[RunView], int]:
    """A service's runs, newest (latest started) first."""
    rows, total = fetch_page(
        call.session,
        select(JobRun).where(JobRun.service_id == _service_id(call.session, query.service)),
        [col(JobRun.started_at).desc(), col(JobRun.run_pk).desc()],
        query.limit,
        query.offset,
    )
    return [RunView.of(run) for run in rows], total


@operation("service.history", scope="read")
def state_history(call: Call, query: ListStateChanges) -> tuple[list[StateChangeView], int]:
    """When a service went down or came back, and why; newest first."""
    service_id = _service_id(call.session, query.service)
    rows, total = fetch_page(
        call.session,
        select(StateChange).where(StateChange.service_id == service_id),
        [col(StateChange.at).desc(), col(StateChange.change_id).desc()],
        query.limit,
        query.offset,
    )
    return [StateChangeView.of(change) for change in rows], total


def _service_id(session: Session, ref: ServiceRef) -> int:
    service_id = find_service(session, ref).service_id
    assert service_id is not None
    return service_id
