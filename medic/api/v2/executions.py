"""v2 playbook executions: start one, list them, follow one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from medic.api.auth import get_medic, read_access, write_access
from medic.ops import execution_list, executions
from medic.ops.actor import Actor
from medic.ops.execution_list import ExecutionState, ListExecutions
from medic.ops.executions import (
    ApproveExecution,
    DeclineExecution,
    ExecutePlaybook,
    ExecutionSummary,
    ExecutionView,
    GetExecution,
)
from medic.process import MedicProcess
from medic.web.envelope import Envelope, Limit, Offset, Page, envelope, page
from medic.web.params import row_id

router = APIRouter(tags=["v2 executions"])
ExecutionId = row_id("execution")
MedicDep = Annotated[MedicProcess, Depends(get_medic)]


@router.post(
    "/playbooks/{name}/execute",
    status_code=202,
    response_model=Envelope[ExecutionView],
    summary="Start a playbook (its current version) on a service; 409 when the circuit "
    "breaker is open",
)
def execute(
    name: str,
    request: executions.ExecuteRequest,
    medic: MedicDep,
    actor: Actor = Depends(write_access),
) -> JSONResponse:
    command = ExecutePlaybook.of(playbook=name, **request.model_dump(exclude_unset=True))
    view = executions.execute_playbook(medic.context(actor), command)
    message = (
        "execution waits for a human approval"
        if view.state == "pending_approval"
        else "execution started"
    )
    return envelope(view, message, 202)


@router.get(
    "/executions",
    response_model=Envelope[Page[ExecutionSummary]],
    summary="List executions, newest first (paged; filters: playbook, service, state, "
    "requester, since/until)",
)
def list_executions(
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    playbook: str | None = Query(None, description="the playbook's name"),
    service: str | None = Query(None, description="the service's id or heartbeat name"),
    state: ExecutionState | None = None,
    requester: str | None = Query(None, description="a key's name, slack:<user> or medic"),
    since: AwareDatetime | None = Query(None, description="requested at or after (ISO 8601)"),
    until: AwareDatetime | None = Query(None, description="requested before (ISO 8601)"),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    query = ListExecutions.of(
        playbook=playbook,
        service=service,
        state=state,
        requester=requester,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    rows, total = execution_list.list_executions(medic.context(actor), query)
    return page(rows, total, limit, offset)


@router.get(
    "/executions/{execution_id}",
    response_model=Envelope[ExecutionView],
    summary="One execution, each step's outcome and output (secrets masked)",
)
def get_execution(
    execution_id: ExecutionId, medic: MedicDep, actor: Actor = Depends(read_access)
) -> JSONResponse:
    query = GetExecution.of(execution_id=execution_id)
    return envelope(executions.get_execution(medic.context(actor), query))


@router.post(
    "/executions/{execution_id}/approve",
    response_model=Envelope[ExecutionView],
    summary="Approve a pending execution (admin key or an approver; never its requester)",
)
def approve(
    execution_id: ExecutionId, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    command = ApproveExecution.of(execution_id=execution_id)
    return envelope(executions.approve(medic.context(actor), command), "approved")


@router.post(
    "/executions/{execution_id}/decline",
    response_model=Envelope[ExecutionView],
    summary="Decline a pending execution: it is cancelled",
)
def decline(
    execution_id: ExecutionId, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    command = DeclineExecution.of(execution_id=execution_id)
    return envelope(executions.decline(medic.context(actor), command), "declined")
