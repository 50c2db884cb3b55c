"""v2 playbook executions: start one, follow it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from medic.api.auth import get_medic, read_access, write_access
from medic.api.envelope import Envelope, envelope
from medic.ops import executions
from medic.ops.actor import Actor
from medic.runtime import Medic

router = APIRouter(tags=["v2 executions"])
MedicDep = Annotated[Medic, Depends(get_medic)]


@router.post(
    "/playbooks/{name}/execute",
    status_code=202,
    response_model=Envelope,
    summary="Start a playbook (its current version) on a service; 409 when the circuit "
    "breaker is open",
)
def execute(
    name: str,
    request: executions.ExecuteRequest,
    medic: MedicDep,
    actor: Actor = Depends(write_access),
) -> JSONResponse:
    execution = executions.execute_playbook(medic.db, medic.settings, actor, name, request)
    view = executions.ExecutionView.of(execution, steps=[])
    message = (
        "execution waits for a human approval"
        if view.state == "pending_approval"
        else "execution started"
    )
    return envelope(view.model_dump(), message, 202)


@router.get("/executions/{execution_id}", response_model=Envelope, summary="One execution")
def get_execution(
    execution_id: int, medic: MedicDep, actor: Actor = Depends(read_access)
) -> JSONResponse:
    return envelope(executions.get_execution(medic.db, actor, execution_id).model_dump())


def _decide(medic: Medic, actor: Actor, execution_id: int, accept: bool) -> JSONResponse:
    executions.decide(medic.db, medic.settings, actor, execution_id, accept)
    view = executions.get_execution(medic.db, actor, execution_id)
    return envelope(view.model_dump(), "approved" if accept else "declined")


@router.post(
    "/executions/{execution_id}/approve",
    response_model=Envelope,
    summary="Approve a pending execution (admin key or an approver; never its requester)",
)
def approve(
    execution_id: int, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    return _decide(medic, actor, execution_id, accept=True)


@router.post(
    "/executions/{execution_id}/decline",
    response_model=Envelope,
    summary="Decline a pending execution: it is cancelled",
)
def decline(
    execution_id: int, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    return _decide(medic, actor, execution_id, accept=False)
