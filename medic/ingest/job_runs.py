"""Job runs (SRE-15/16) as a heartbeat batch records them.

STARTED opens a run (replacing an open run of the same `run_id`, or of no run id,
which is marked abandoned); COMPLETED or FAILED finishes the newest open run with
its `run_id` (any open run when it has none); each service keeps its newest
`RUNS_KEPT` runs. Portable statements, run in the batch's transaction by both writers:
`:name` parameters, which psycopg gets as `%(name)s`.

An end with a `run_id` that matches no open run, as healthchecks.io treats a ping whose
`rid` matches no start: the beat is kept as a plain heartbeat (a COMPLETED is still
proof of life, so a job whose /start was lost raises no false alert), without a
duration, and the answer says the run was unknown (`RunSignal.known`). The one
exception is a retry: the run already ended the same way (COMPLETED twice, FAILED
twice), so nothing new is stored and the answer is the beat that ended it
(`RunSignal.repeated`): a client may resend an end safely, never counted twice.

`run_changes` is written once for both writers without doing I/O itself: it yields
each `(statement, parameters)` and is sent back the rows that statement returned.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from medic.core.statuses import Status

RUNS_KEPT = 100

_ABANDON = """
UPDATE job_runs SET outcome = 'abandoned', finished_at = :time
WHERE service_id = :sid AND finished_at IS NULL AND {same_run}
"""
_FINISH = """
UPDATE job_runs SET finished_at = :time, outcome = :outcome
WHERE run_pk = (
    SELECT run_pk FROM job_runs
    WHERE service_id = :sid AND finished_at IS NULL AND started_at <= :time {same_run}
    ORDER BY started_at DESC LIMIT 1
)
RETURNING run_pk, started_at
"""
# How the newest run of this id ended (when no open run matched an end).
LAST_RUN = """
SELECT outcome FROM job_runs WHERE service_id = :sid AND run_id = :run_id
ORDER BY started_at DESC LIMIT 1
"""
# The beat that ended a run which a retry ends again.
ENDING_BEAT = """
SELECT heartbeat_id, time FROM heartbeat_events
WHERE service_id = :sid AND run_id = :run_id AND status = :status
ORDER BY time DESC, heartbeat_id DESC LIMIT 1
"""
START = "INSERT INTO job_runs (service_id, run_id, started_at) VALUES (:sid, :run_id, :time)"
PRUNE = f"""
DELETE FROM job_runs WHERE service_id = :sid AND started_at < (
    SELECT started_at FROM job_runs WHERE service_id = :sid
    ORDER BY started_at DESC LIMIT 1 OFFSET {RUNS_KEPT - 1}
)
"""
ABANDON_SAME_ID = _ABANDON.format(same_run="run_id = :run_id")
ABANDON_NO_ID = _ABANDON.format(same_run="run_id IS NULL")
FINISH_SAME_ID = _FINISH.format(same_run="AND run_id = :run_id")
FINISH_NEWEST = _FINISH.format(same_run="")

_FINISHED = {Status.COMPLETED: "completed", Status.FAILED: "failed"}
# The statuses whose beats run_changes turns into statements; a batch of others has none.
RUN_SIGNALS = frozenset({Status.STARTED, *_FINISHED})


@dataclass(frozen=True, slots=True)
class RunSignal:
    """What an end (COMPLETED or FAILED) with a run id did to its run."""

    run_id: str
    # A run of this id was started (and is among the kept ones).
    known: bool
    # The run had already ended this way: a retry, stored no second time.
    repeated: bool = False
    # How the run had ended before, when this end found it ended otherwise.
    ended_as: str | None = None
    # A repeat: the beat that ended the run, from the database ...
    heartbeat_id: int | None = None
    time: datetime | None = None
    # ... or from earlier in the same batch (its index among the batch's rows).
    repeat_of_row: int | None = None


Statement = tuple[str, dict[str, Any]]
RunChanges = Generator[Statement, list[dict[str, Any]], list[RunSignal | None]]
_Signal = Generator[Statement, list[dict[str, Any]], RunSignal]


def run_changes(
    rows: list[dict[str, Any]], starts: dict[int, datetime] | None = None
) -> RunChanges:
    """Apply a batch's event rows to its runs, in order; per row, a RunSignal for an end
    with a run id (None otherwise). Yields statements; is sent their rows back. `starts`
    receives, per row that finished a run, when that run started (its duration's start)."""
    starts = {} if starts is None else starts
    signals: list[RunSignal | None] = []
    ended_here: dict[tuple[int, str, str], int] = {}
    for index, row in enumerate(rows):
        status, run_id, sid = Status(row["status"]), row["run_id"], row["service_id"]
        params = {"sid": sid, "time": row["time"]}
        signal = None
        if status == Status.STARTED:
            with_id = {**params, "run_id": run_id}
            yield (ABANDON_NO_ID, params) if run_id is None else (ABANDON_SAME_ID, with_id)
            yield START, with_id
            yield PRUNE, {"sid": sid}
        elif status in _FINISHED and run_id is None:
            finished = yield FINISH_NEWEST, {**params, "outcome": _FINISHED[status]}
            if finished:
                starts[index] = _utc(finished[0]["started_at"])
        elif status in _FINISHED:
            outcome = _FINISHED[status]
            same = (sid, run_id, status.value)
            finished = yield FINISH_SAME_ID, {**params, "outcome": outcome, "run_id": run_id}
            if finished:
                signal = RunSignal(run_id, known=True)
                ended_here[same] = index
                starts[index] = _utc(finished[0]["started_at"])
            elif same in ended_here:
                signal = RunSignal(run_id, True, repeated=True, repeat_of_row=ended_here[same])
            else:
                signal = yield from _ended_before(sid, run_id, status, outcome)
        signals.append(signal)
    return signals


def _ended_before(sid: int, run_id: str, status: Status, outcome: str) -> _Signal:
    """The signal of an end whose run is not open: unknown, ended otherwise, or a retry."""
    last = yield LAST_RUN, {"sid": sid, "run_id": run_id}
    if not last:
        return RunSignal(run_id, known=False)
    ended_as = last[0]["outcome"]
    if ended_as == outcome:
        beat = yield ENDING_BEAT, {"sid": sid, "run_id": run_id, "status": status.value}
        if beat:
            return RunSignal(
                run_id,
                known=True,
                repeated=True,
                heartbeat_id=int(beat[0]["heartbeat_id"]),
                time=_utc(beat[0]["time"]),
            )
    return RunSignal(run_id, known=True, ended_as=ended_as)


def _utc(value: datetime | str) -> datetime:
    """A time read back by a plain statement (SQLite gives text); aware, in UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def for_psycopg(statement: str) -> str:
    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", statement)
