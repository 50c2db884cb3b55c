"""Status badges (SRE-style shields) per service and per team, at unguessable URLs: the
badge token in the URL is the capability, like a ping URL's uuid, so a badge can be
embedded in a README or a wiki without any key. Rotating the token (an operation,
audited) retires every URL that carried the old one.

A badge says up, late or down (medic.core.service_health); a team's badge says its
worst active service's word.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field, model_validator
from sqlmodel import Session, col, select

from medic.core.service_health import BadgeWord, badge_word, health, worst
from medic.db import Database
from medic.models import Service, Team
from medic.models.columns import new_badge_token
from medic.ops.errors import NotFound
from medic.ops.fields import ServiceRef
from medic.ops.operation import Call, Command, operation
from medic.ops.services import find_service

MAX_TOKEN_LENGTH = 64


class Badge(BaseModel):
    """What a badge shows: `label` (the service's or team's name) and its word."""

    kind: str = Field(description="service or team")
    label: str
    status: BadgeWord


class BadgeLinks(BaseModel):
    """A badge's URLs; null when the row has no badge token yet (rotate to create one)."""

    svg_url: str | None
    json_url: str | None


class BadgeCommand(Command):
    """A service (id or heartbeat name) or a team (by name): exactly one."""

    service: ServiceRef | None = None
    team: str | None = Field(default=None, min_length=1, max_length=255)

    @model_validator(mode="after")
    def _one(self) -> BadgeCommand:
        if (self.service is None) == (self.team is None):
            raise ValueError("name a service or a team, not both")
        return self

    def audit_target(self) -> tuple[str | None, object]:
        return ("service", self.service) if self.service is not None else ("team", self.team)


class GetBadge(BadgeCommand):
    pass


class RotateBadge(BadgeCommand):
    """A new badge token: the old URLs stop working at once."""


def links(base_url: str, token: str | None) -> BadgeLinks:
    if token is None:
        return BadgeLinks(svg_url=None, json_url=None)
    base = f"{base_url.rstrip('/')}/badges/{token}"
    return BadgeLinks(svg_url=f"{base}.svg", json_url=f"{base}.json")


def _team(session: Session, name: str, lock: bool = False) -> Team:
    statement = select(Team).where(Team.name == name)
    if lock:
        statement = statement.with_for_update()
    team = session.exec(statement).first()
    if team is None:
        raise NotFound(f"no team named {name!r}")
    return team


def _row(call: Call, command: BadgeCommand, lock: bool = False) -> Service | Team:
    if command.service is not None:
        return find_service(call.session, command.service, lock=lock)
    assert command.team is not None
    return _team(call.session, command.team, lock=lock)


@operation("badge.get", scope="read")
def get_badge(call: Call, command: GetBadge) -> BadgeLinks:
    return links(call.settings.medic_base_url, _row(call, command).badge_token)


@operation("badge.rotate", scope="write", audit="badge.rotate")
def rotate_badge(call: Call, command: RotateBadge) -> BadgeLinks:
    row = _row(call, command, lock=True)
    row.badge_token = new_badge_token()
    call.session.add(row)
    if isinstance(row, Service):
        call.audit("service", row.service_id, heartbeat_name=row.heartbeat_name)
    else:
        call.audit("team", row.team_id, name=row.name)
    return links(call.settings.medic_base_url, row.badge_token)


def _word(service: Service, now: datetime) -> BadgeWord:
    return badge_word(
        health(
            state=service.state,
            active=service.active,
            next_due_at=service.next_due_at,
            grace_period_seconds=service.grace_period_seconds,
            now=now,
        )
    )


def find_badge(db: Database, token: str) -> Badge:
    """The badge a token names (the capability: no key), or NotFound."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound("no such badge")
    now = datetime.now(UTC)
    with db.session() as session:
        service = session.exec(select(Service).where(Service.badge_token == token)).first()
        if service is not None:
            return Badge(kind="service", label=service.heartbeat_name, status=_word(service, now))
        team = session.exec(select(Team).where(Team.badge_token == token)).first()
        if team is None:
            raise NotFound("no such badge")
        members = session.exec(
            select(Service).where(Service.team == team.name).where(col(Service.active))
        ).all()
        return Badge(kind="team", label=team.name, status=worst(_word(s, now) for s in members))
