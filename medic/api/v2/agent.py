"""The agent's door (SRE-21): a host's medic-agent long-polls for its jobs and reports
their results. Only a key of the `agent` scope, bound to a host, gets in; every answer
is about that host's jobs only.

`GET /v2/agent/jobs?wait=30` answers at once when a job is queued for the host, else
when one is queued within `wait` seconds, else `{"job": null}` at the end of the wait.
The waiting holds no worker and no database connection (medic.api.agent_board). Each
poll is also the heartbeat of the agent's service (`agent-<host>`): a dead agent's
service goes late and alerts like any other.
"""

from __future__ import annotations

import contextlib
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from medic.api.agent_board import JobBoard
from medic.api.auth import authenticated, get_medic
from medic.core import agents as rules
from medic.core.statuses import Status
from medic.ingest.writer import ServiceRef
from medic.ops import agents, heartbeats
from medic.ops.actor import Actor
from medic.ops.agents import Contact, JobOrder, ReportResult, TakeJob
from medic.ops.errors import Forbidden, MedicError
from medic.process import MedicProcess
from medic.web.envelope import Envelope, envelope
from medic.web.params import row_id

router = APIRouter(prefix="/agent", tags=["v2 agent protocol"])
MedicDep = Annotated[MedicProcess, Depends(get_medic)]
agent_access = authenticated("agent")
JobId = row_id("job")


class Poll(BaseModel):
    job: JobOrder | None


class ResultIn(BaseModel):
    """A job's result as the agent reports it (agent/src/job.rs)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "failed", "timeout", "error", "skipped"]
    exit_code: int | None = None
    duration_ms: int | None = None
    output: str | None = None
    output_bytes: int | None = None
    message: str | None = None
    reason: str | None = Field(default=None, description="why it was skipped")
    counters: dict[str, Any] | None = None


def board_of(request: Request, medic: MedicProcess) -> JobBoard:
    board: JobBoard | None = getattr(request.app.state, "agent_board", None)
    if board is None or board.db is not medic.db:
        board = JobBoard(medic.db, medic.settings.medic_agent_recheck_seconds)
        request.app.state.agent_board = board
    return board


@router.get(
    "/jobs",
    response_model=Envelope[Poll],
    summary="Long-poll for this host's next job (agent keys only)",
)
async def poll(
    request: Request,
    medic: MedicDep,
    wait: Annotated[
        int, Query(ge=0, le=rules.MAX_WAIT_SECONDS, description="seconds to hold the request")
    ] = 0,
    version: Annotated[str | None, Query(max_length=32)] = None,
    actor: Actor = Depends(agent_access),
) -> JSONResponse:
    context = medic.context(actor)
    state = await run_in_threadpool(agents.contact, context, Contact.of(version=version))
    if not state.known:
        await run_in_threadpool(agents.first_contact, context, actor)
        state = await run_in_threadpool(agents.contact, context, Contact.of(version=version))
    if state.revoked:
        raise Forbidden(f"the agent of host {actor.agent_host!r} is revoked")
    if state.service_id is not None:
        # A deactivated service refuses the beat; the poll still gets its jobs.
        with contextlib.suppress(MedicError):
            await heartbeats.record(
                medic.writer, None, ServiceRef(service_id=state.service_id), Status.UP
            )
    deadline = time.monotonic() + wait
    board = board_of(request, medic)
    assert actor.agent_host is not None
    while True:
        job = await run_in_threadpool(agents.take_job, context, TakeJob.of())
        remaining = deadline - time.monotonic()
        if job is not None or remaining <= 0 or await request.is_disconnected():
            return envelope(Poll(job=job), "a job" if job else "no job")
        await board.wait(actor.agent_host, remaining)


@router.post(
    "/jobs/{job_id}/result",
    response_model=Envelope[None],
    summary="Report a job's result, or that this host refused its script (agent keys only)",
)
def report(
    job_id: JobId, body: ResultIn, medic: MedicDep, actor: Actor = Depends(agent_access)
) -> JSONResponse:
    command = ReportResult.of(job_id=job_id, **body.model_dump(exclude_none=True))
    agents.report(medic.context(actor), command)
    return envelope(None, "result recorded")
