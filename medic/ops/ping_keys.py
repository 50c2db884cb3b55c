"""Team ping keys and slug ping URLs (healthchecks.io's design): `/ping/<ping key>/<slug>`.

A ping key is a capability like a ping uuid, for a whole team: whoever holds it may
post heartbeats for the team's services by slug and, with `?create=1`, add services
to that team (and no other). So it is 256 random bits, kept only as its SHA-256 (shown
once, when rotated), and rotating it (admin: it configures trust) makes every URL
with the old key a 404 at once.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import and_
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from medic.db import Database
from medic.models import PingKey, Service
from medic.models.columns import utcnow
from medic.ops import services
from medic.ops.actor import Actor
from medic.ops.errors import Conflict
from medic.ops.operation import Call, Command, Context, operation
from medic.ops.service_commands import RegisterService

# What `?create=1` gives a new service (healthchecks' defaults): one beat a day, an hour late.
CREATED_INTERVAL_MINUTES = 24 * 60
CREATED_GRACE_SECONDS = 3600


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", errors="replace")).hexdigest()


def new_key() -> str:
    """256 random bits, URL-safe; never one that reads as a uuid, so `/ping/<x>/<y>`
    is a uuid ping or a slug ping by its first segment alone."""
    while True:
        key = secrets.token_urlsafe(32)
        try:
            uuid.UUID(key)
        except ValueError:
            return key


class RotatePingKey(Command):
    team: str = Field(min_length=1, max_length=255, description="the team, as services name it")

    @field_validator("team")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value

    def audit_target(self) -> tuple[str | None, object]:
        return "team", self.team


class PingKeyView(BaseModel):
    """A new ping key: shown this once (Medic keeps only its hash)."""

    team: str
    ping_key: str
    ping_url: str = Field(description="append a service's slug (and /start, /fail, /<code>)")
    replaced: bool = Field(description="an older key existed; its URLs are now 404")
    created_at: datetime


@operation("team.ping_key.rotate", scope="admin", audit="team.ping_key.rotate")
def rotate(call: Call, command: RotatePingKey) -> PingKeyView:
    """Give the team a new ping key; the old one (if any) stops working at once."""
    key = new_key()
    session = call.session
    row = session.exec(
        select(PingKey).where(PingKey.team == command.team).with_for_update()
    ).first()
    replaced = row is not None
    if row is None:
        row = PingKey(team=command.team, key_hash=key_hash(key))
    else:
        row.key_hash = key_hash(key)
        row.created_at = utcnow()
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"team {command.team!r}'s ping key is being rotated; retry") from None
    call.audit("team", command.team, replaced=replaced)  # never the key
    base = call.settings.medic_base_url.rstrip("/")
    return PingKeyView(
        team=command.team,
        ping_key=key,
        ping_url=f"{base}/ping/{key}/",
        replaced=replaced,
        created_at=row.created_at,
    )


def resolve(db: Database, key: str, slug: str) -> tuple[str | None, str | None]:
    """(the key's team, the ping uuid of its service with this slug): (None, None) for
    an unknown key, (team, None) for a slug the team has no service for. One query."""
    statement = (
        select(PingKey.team, Service.uuid)
        .select_from(PingKey)
        .outerjoin(Service, and_(Service.team == PingKey.team, Service.slug == slug))
        .where(PingKey.key_hash == key_hash(key))
    )
    with db.session() as session:
        row = session.exec(statement).first()
    if row is None:
        return None, None
    return row[0], row[1]


def ping_key_actor(team: str) -> Actor:
    """Who a `?create=1` ping acts as (the audit log names it): the team's ping key,
    allowed to register services in that team only (the team is never the caller's)."""
    return Actor(name=f"ping-key:{team}", front_door="api", scopes=frozenset({"write"}))


def create_by_slug(db: Database, team: str, slug: str) -> str:
    """Register the team's service `slug` with the defaults (through service.register)
    and return its ping uuid. Its heartbeat name is the slug: a name taken by another
    service (of any team) is a 409, never that service."""
    context = Context(db, ping_key_actor(team))
    command = RegisterService.of(
        heartbeat_name=slug,
        slug=slug,
        team=team,
        alert_interval=CREATED_INTERVAL_MINUTES,
        grace_period_seconds=CREATED_GRACE_SECONDS,
    )
    view, created = services.register(context, command)
    if not created and (view.team, view.slug) != (team, slug):
        raise Conflict(
            f"a service named {slug!r} already exists; give it slug {slug!r} in this team, "
            "or ping another slug"
        )
    with db.session() as session:
        found = session.exec(select(Service.uuid).where(Service.service_id == view.service_id))
        return found.one()
