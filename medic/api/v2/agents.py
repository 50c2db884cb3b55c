"""v2 agents (SRE-21), as people see them: enroll a host's agent (its key is shown
once), list agents with their last contact, look at one, revoke one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from medic.api.auth import admin_access, get_medic, read_access
from medic.ops import agents
from medic.ops.actor import Actor
from medic.ops.agents import AgentView, EnrollAgent, Enrolled, GetAgent, ListAgents, RevokeAgent
from medic.process import MedicProcess
from medic.web.envelope import Envelope, envelope

router = APIRouter(prefix="/agents", tags=["v2 agents"])
MedicDep = Annotated[MedicProcess, Depends(get_medic)]


class AgentList(BaseModel):
    items: list[AgentView]


@router.post(
    "",
    status_code=201,
    response_model=Envelope[Enrolled],
    summary="Enroll a host's agent: its service and its key (shown only in this answer)",
)
def enroll(
    command: EnrollAgent, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    enrolled = agents.enroll(medic.context(actor), command)
    return envelope(enrolled, "agent enrolled; store its key now, it is not shown again", 201)


@router.get("", response_model=Envelope[AgentList], summary="Agents and their last contact")
def list_agents(medic: MedicDep, actor: Actor = Depends(read_access)) -> JSONResponse:
    return envelope(AgentList(items=agents.list_agents(medic.context(actor), ListAgents.of())))


@router.get("/{host}", response_model=Envelope[AgentView], summary="One host's agent")
def get_agent(host: str, medic: MedicDep, actor: Actor = Depends(read_access)) -> JSONResponse:
    return envelope(agents.get_agent(medic.context(actor), GetAgent.of(host=host)))


@router.delete(
    "/{host}",
    response_model=Envelope[AgentView],
    summary="Revoke a host's agent: its key stops working, its queued jobs are cancelled",
)
def revoke(host: str, medic: MedicDep, actor: Actor = Depends(admin_access)) -> JSONResponse:
    return envelope(agents.revoke(medic.context(actor), RevokeAgent.of(host=host)), "agent revoked")
