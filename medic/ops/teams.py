"""Teams (SRE-11): where a team's alerts go in Slack and who may approve its playbooks.

Services name their team as free text; a Team row is optional. A service whose team
has no row (or a row without a channel) is announced in SLACK_CHANNEL_ID. So a team
may be created after the services that name it, and is refused deletion only while
services still name it (they would silently move to the default channel).
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, col, func, select

from medic.db import Database
from medic.models import Service, Team
from medic.models.columns import utcnow
from medic.ops import audit
from medic.ops.actor import Actor
from medic.ops.errors import Conflict, InvalidInput
from medic.ops.named import Name, ensure_new, find, insert
from medic.ops.paging import fetch_page

CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")
MAX_APPROVERS = 100
WHAT = "team"


def _channel(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not CHANNEL_ID.fullmatch(value):
        raise ValueError(f"{value!r} is not a Slack channel id (like C0123ABCD; not the #name)")
    return value


def _approvers(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    if len(value) > MAX_APPROVERS:
        raise ValueError(f"at most {MAX_APPROVERS} approvers")
    cleaned: list[str] = []
    for user in (v.strip() for v in value):
        if not USER_ID.fullmatch(user):
            raise ValueError(f"{user!r} is not a Slack user id (like U0123ABCD)")
        if user not in cleaned:
            cleaned.append(user)
    return cleaned


class TeamFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    slack_channel_id: str | None = Field(
        default=None, description="Slack channel id (C…/G…); null: SLACK_CHANNEL_ID"
    )
    approvers: list[str] | None = Field(
        default=None, description="Slack user ids (U…/W…) who may approve its playbooks"
    )

    _channel = field_validator("slack_channel_id")(_channel)
    _approvers = field_validator("approvers")(_approvers)


class TeamSpec(TeamFields):
    """A new team; `name` is what services put in their `team` field."""

    name: Name = Field(max_length=255)


class TeamChanges(TeamFields):
    """Fields left out stay; `slack_channel_id: null` clears the channel."""


class TeamView(BaseModel):
    team_id: int
    name: str
    slack_channel_id: str | None
    approvers: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, team: Team) -> TeamView:
        return cls.model_validate(team.model_dump())


def create_team(db: Database, actor: Actor, spec: TeamSpec) -> Team:
    actor.require("write")
    team = Team(
        name=spec.name, slack_channel_id=spec.slack_channel_id, approvers=spec.approvers or []
    )
    with db.session() as session:
        ensure_new(session, Team, spec.name, WHAT)
        insert(session, team, WHAT)
        audit.record(
            session,
            actor,
            "team.create",
            "team",
            team.team_id,
            name=team.name,
            slack_channel_id=team.slack_channel_id,
            approvers=team.approvers,
        )
    return team


def update_team(db: Database, actor: Actor, name: str, changes: TeamChanges) -> Team:
    actor.require("write")
    values = changes.model_dump(exclude_unset=True)
    if not values:
        raise InvalidInput("no fields to update")
    if "approvers" in values and values["approvers"] is None:
        raise InvalidInput("approvers must not be null; use [] for none")
    with db.session() as session:
        team = find(session, Team, name, WHAT, lock=True)
        before = {field: getattr(team, field) for field in values}
        for field, value in values.items():
            setattr(team, field, list(value) if field == "approvers" else value)
        team.updated_at = utcnow()
        session.add(team)
        audit.record(
            session,
            actor,
            "team.update",
            "team",
            team.team_id,
            name=name,
            before=before,
            after=values,
        )
    return team


def services_naming(session: Session, team: str) -> int:
    return session.exec(
        select(func.count()).select_from(Service).where(col(Service.team) == team)
    ).one()


def delete_team(db: Database, actor: Actor, name: str) -> Team:
    """Refused while services name the team: they would lose its channel unnoticed."""
    actor.require("write")
    with db.session() as session:
        team = find(session, Team, name, WHAT, lock=True)
        used = services_naming(session, team.name)
        if used:
            raise Conflict(
                f"team {team.name!r} is used by {used} service{'s' if used != 1 else ''}; "
                "move them to another team first"
            )
        audit.record(session, actor, "team.delete", "team", team.team_id, name=team.name)
        session.delete(team)
    return team


def get_team(db: Database, actor: Actor, name: str) -> Team:
    actor.require("read")
    with db.session() as session:
        return find(session, Team, name, WHAT)


def list_teams(
    db: Database, actor: Actor, limit: int | None = None, offset: int = 0
) -> tuple[list[Team], int]:
    actor.require("read")
    with db.session() as session:
        return fetch_page(session, select(Team), [col(Team.name)], limit, offset)
