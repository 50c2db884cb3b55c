"""v2 teams (SRE-11): a team's Slack channel and playbook approvers, by name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from medic.api.auth import get_medic, read_access, write_access
from medic.api.envelope import Envelope, Limit, Offset, envelope, page
from medic.ops import teams
from medic.ops.actor import Actor
from medic.runtime import Medic

router = APIRouter(prefix="/teams", tags=["v2 teams"])
MedicDep = Annotated[Medic, Depends(get_medic)]


def _out(team: object) -> dict:
    return teams.TeamView.of(team).model_dump()  # type: ignore[arg-type]


@router.get("", response_model=Envelope, summary="List teams (paged, by name)")
def list_teams(
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    rows, total = teams.list_teams(medic.db, actor, limit, offset)
    return page([_out(t) for t in rows], total, limit, offset)


@router.post("", status_code=201, response_model=Envelope, summary="Create a team (409 if taken)")
def create_team(
    spec: teams.TeamSpec, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    return envelope(_out(teams.create_team(medic.db, actor, spec)), "team created", 201)


@router.get("/{name}", response_model=Envelope, summary="One team")
def get_team(name: str, medic: MedicDep, actor: Actor = Depends(read_access)) -> JSONResponse:
    return envelope(_out(teams.get_team(medic.db, actor, name)))


@router.patch("/{name}", response_model=Envelope, summary="Change a team's channel or approvers")
def update_team(
    name: str, changes: teams.TeamChanges, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    return envelope(_out(teams.update_team(medic.db, actor, name, changes)), "team updated")


@router.delete(
    "/{name}", response_model=Envelope, summary="Delete a team (409 while services name it)"
)
def delete_team(name: str, medic: MedicDep, actor: Actor = Depends(write_access)) -> JSONResponse:
    team = teams.delete_team(medic.db, actor, name)
    return envelope({"name": team.name}, "team deleted")
