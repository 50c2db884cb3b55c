"""v2 playbook executions: start one, follow it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from medic.api.auth import get_medic, read_access, write_access
from medic.ops import executions
from medic.ops.actor import Actor
from medic.ops.executions import (
    ApproveExecution,
    DeclineExecution,
    ExecutePlaybook,
    ExecutionView,
    GetExecution,
)
from medic.process import MedicProcess
from medic.web.envelope import Envelope, envelope
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
    "/executions/{execution_id}", response_model=Envelope[ExecutionView], summary="One execution"
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
