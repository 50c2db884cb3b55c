"""Job runs (SRE-15/16) as a heartbeat batch records them.

STARTED opens a run (replacing an open run of the same `run_id`, or of no run id,
which is marked abandoned); COMPLETED or FAILED finishes the newest open run with
its `run_id` (any open run when it has none); each service keeps its newest
`RUNS_KEPT` runs. One portable statement per run event, run in the batch's
transaction by both writers: `:name` parameters, which psycopg gets as `%(name)s`.
"""

from __future__ import annotations

import re
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


def run_statements(rows: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The statements for a batch's event rows, in the order they must run."""
    statements: list[tuple[str, dict[str, Any]]] = []
    for row in rows:
        status, run_id = Status(row["status"]), row["run_id"]
        params = {"sid": row["service_id"], "time": row["time"]}
        if status == Status.STARTED:
            with_id = {**params, "run_id": run_id}
            if run_id is None:
                statements.append((ABANDON_NO_ID, params))
            else:
                statements.append((ABANDON_SAME_ID, with_id))
            statements.append((START, with_id))
            statements.append((PRUNE, {"sid": row["service_id"]}))
        elif status in _FINISHED:
            finished = {**params, "outcome": _FINISHED[status]}
            if run_id is None:
                statements.append((FINISH_NEWEST, finished))
            else:
                statements.append((FINISH_SAME_ID, {**finished, "run_id": run_id}))
    return statements


def for_psycopg(statement: str) -> str:
    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", statement)
