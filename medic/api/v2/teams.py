"""v2 teams (SRE-11): a team's Slack channel and playbook approvers, by name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from medic.api.auth import admin_access, get_medic, read_access
from medic.api.v2.schemas import DeletedName
from medic.ops import ping_keys, teams
from medic.ops.actor import Actor
from medic.ops.ping_keys import PingKeyView, RotatePingKey
from medic.ops.teams import (
    CreateTeam,
    DeleteTeam,
    GetTeam,
    ListTeams,
    TeamChanges,
    TeamView,
    UpdateTeam,
)
from medic.process import MedicProcess
from medic.web.envelope import Envelope, Limit, Offset, Page, envelope, page

router = APIRouter(prefix="/teams", tags=["v2 teams"])
MedicDep = Annotated[MedicProcess, Depends(get_medic)]


@router.get("", response_model=Envelope[Page[TeamView]], summary="List teams (paged, by name)")
def list_teams(
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    query = ListTeams.of(limit=limit, offset=offset)
    rows, total = teams.list_teams(medic.context(actor), query)
    return page(rows, total, limit, offset)


@router.post(
    "",
    status_code=201,
    response_model=Envelope[TeamView],
    summary="Create a team (409 if taken)",
)
def create_team(
    command: CreateTeam, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    return envelope(teams.create_team(medic.context(actor), command), "team created", 201)


@router.get("/{name}", response_model=Envelope[TeamView], summary="One team")
def get_team(name: str, medic: MedicDep, actor: Actor = Depends(read_access)) -> JSONResponse:
    return envelope(teams.get_team(medic.context(actor), GetTeam.of(name=name)))


@router.patch(
    "/{name}", response_model=Envelope[TeamView], summary="Change a team's channel or approvers"
)
def update_team(
    name: str, changes: TeamChanges, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    team = teams.update_team(medic.context(actor), UpdateTeam.of(name=name, changes=changes))
    return envelope(team, "team updated")


@router.delete(
    "/{name}",
    response_model=Envelope[DeletedName],
    summary="Delete a team (409 while services name it)",
)
def delete_team(name: str, medic: MedicDep, actor: Actor = Depends(admin_access)) -> JSONResponse:
    team = teams.delete_team(medic.context(actor), DeleteTeam.of(name=name))
    return envelope(DeletedName(name=team.name), "team deleted")


@router.post(
    "/{name}/ping-key",
    status_code=201,
    response_model=Envelope[PingKeyView],
    summary="Rotate the team's ping key (shown once; the old key's slug URLs become 404)",
)
def rotate_ping_key(
    name: str, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    rotated = ping_keys.rotate(medic.context(actor), RotatePingKey.of(team=name))
    return envelope(rotated, "ping key rotated", 201)
