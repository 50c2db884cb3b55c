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

from medic.models import Service, Team
from medic.models.columns import utcnow
from medic.ops import config_history
from medic.ops.errors import Conflict, InvalidInput
from medic.ops.named import Name, ensure_new, find, insert
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page

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


class TeamChanges(TeamFields):
    """Fields left out stay; `slack_channel_id: null` clears the channel."""


class TeamView(BaseModel):
    """A team: the Slack channel its alerts go to, who may approve its playbooks."""

    team_id: int
    name: str
    slack_channel_id: str | None
    approvers: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, team: Team) -> TeamView:
        return cls.model_validate(team.model_dump())


class CreateTeam(TeamFields, Command):
    """A new team; `name` is what services put in their `team` field."""

    name: Name = Field(max_length=255)

    def audit_target(self) -> tuple[str | None, object]:
        return "team", self.name


config_history.track("team", CreateTeam)


class TeamCommand(Command):
    """A command about one team, by its exact name."""

    name: str

    def audit_target(self) -> tuple[str | None, object]:
        return "team", self.name


class UpdateTeam(TeamCommand):
    changes: TeamChanges


class DeleteTeam(TeamCommand):
    """Refused while services name the team: they would lose its channel unnoticed."""


class GetTeam(TeamCommand):
    pass


class ListTeams(Command):
    limit: int | None = Field(default=None, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)


@operation("team.create", scope="admin", audit="team.create")
def create_team(call: Call, command: CreateTeam) -> TeamView:
    team = Team(
        name=command.name,
        slack_channel_id=command.slack_channel_id,
        approvers=command.approvers or [],
    )
    ensure_new(call.session, Team, command.name, WHAT)
    insert(call.session, team, WHAT)
    config_history.created(call, "team", team)
    call.audit(
        "team",
        team.team_id,
        name=team.name,
        slack_channel_id=team.slack_channel_id,
        approvers=team.approvers,
    )
    return TeamView.of(team)


@operation("team.update", scope="admin", audit="team.update")
def update_team(call: Call, command: UpdateTeam) -> TeamView:
    values = command.changes.model_dump(exclude_unset=True)
    if not values:
        raise InvalidInput("no fields to update")
    if "approvers" in values and values["approvers"] is None:
        raise InvalidInput("approvers must not be null; use [] for none")
    team = find(call.session, Team, command.name, WHAT, lock=True)
    configured = config_history.snapshot("team", team)
    before = {field: getattr(team, field) for field in values}
    for field, value in values.items():
        setattr(team, field, list(value) if field == "approvers" else value)
    team.updated_at = utcnow()
    call.session.add(team)
    config_history.changed(call, "team", team, configured)
    call.audit("team", team.team_id, name=command.name, before=before, after=values)
    return TeamView.of(team)


def services_naming(session: Session, team: str) -> int:
    return session.exec(
        select(func.count()).select_from(Service).where(col(Service.team) == team)
    ).one()


@operation("team.delete", scope="admin", audit="team.delete")
def delete_team(call: Call, command: DeleteTeam) -> TeamView:
    """Refused while services name the team: they would lose its channel unnoticed."""
    team = find(call.session, Team, command.name, WHAT, lock=True)
    used = services_naming(call.session, team.name)
    if used:
        raise Conflict(
            f"team {team.name!r} is used by {used} service{'s' if used != 1 else ''}; "
            "move them to another team first"
        )
    deleted = TeamView.of(team)
    config_history.deleted(call, "team", team)
    call.audit("team", team.team_id, name=team.name)
    call.session.delete(team)
    return deleted


@operation("team.get", scope="read")
def get_team(call: Call, command: GetTeam) -> TeamView:
    return TeamView.of(find(call.session, Team, command.name, WHAT))


@operation("team.list", scope="read")
def list_teams(call: Call, query: ListTeams) -> tuple[list[TeamView], int]:
    """By name."""
    rows, total = fetch_page(
        call.session, select(Team), [col(Team.name)], query.limit, query.offset
    )
    return [TeamView.of(row) for row in rows], total
