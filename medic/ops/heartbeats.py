"""Heartbeats: record one (through the group-commit writer) and read them back."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field, field_validator
from sqlmodel import col, select

from medic.core.names import name_key
from medic.core.statuses import Status, parse_status
from medic.ingest.writer import BeatRecorded, BeatRequest, IngestWriter, ServiceRef
from medic.models import HeartbeatEvent, Service
from medic.ops.actor import Actor
from medic.ops.errors import InvalidInput, NotFound
from medic.ops.fields import MAX_ID, InstantBound
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page

MAX_MESSAGE_BYTES = 100_000
MAX_RUN_ID_LENGTH = 255


class HeartbeatView(BaseModel):
    """A stored heartbeat with the service fields v1 clients expect beside it."""

    heartbeat_id: int
    heartbeat_name: str
    service_name: str | None
    time: datetime
    status: str
    team: str
    priority: str
    run_id: str | None
    message: str | None
    service_id: int


def status_from(value: str) -> Status:
    """A client's status string as a Status, or a 400 listing the allowed ones."""
    try:
        return parse_status(value)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


async def record(
    writer: IngestWriter,
    actor: Actor | None,
    ref: ServiceRef,
    status: Status,
    run_id: str | None = None,
    message: str | None = None,
) -> BeatRecorded:
    """Store one heartbeat; returns once it is committed. `actor` None means a ping URL,
    where the unguessable uuid is the credential."""
    if actor is not None:
        actor.require("ingest")
    if run_id is not None and (not run_id.strip() or len(run_id) > MAX_RUN_ID_LENGTH):
        raise InvalidInput(f"run_id must be 1 to {MAX_RUN_ID_LENGTH} characters")
    # Ids are 32-bit in the database: a larger one names no service, and must not reach
    # (and fail) a batch that other clients' heartbeats share.
    if ref.service_id is not None and not 0 < ref.service_id <= MAX_ID:
        raise NotFound(f"no service with id {ref.service_id}")
    # PostgreSQL refuses NUL in text, and the writer would fail the whole batch with it.
    for field, value in (("heartbeat_name", ref.name_key), ("run_id", run_id)):
        if value is not None and "\x00" in value:
            raise InvalidInput(f"{field} must not contain NUL characters")
    if message is not None:
        message = truncate_message(message)
    request = BeatRequest(
        ref=ref, status=status, time=datetime.now(UTC), run_id=run_id, message=message
    )
    return await writer.record(request)


def truncate_message(message: str) -> str:
    """Keep at most 100 kB of a message; the rest is dropped, not refused. What no
    database can store is replaced: NUL is dropped, and a lone surrogate (JSON allows
    "\\ud800", UTF-8 does not) becomes "?"."""
    encoded = message.encode("utf-8", errors="replace")
    return encoded[:MAX_MESSAGE_BYTES].decode("utf-8", errors="ignore").replace("\x00", "")


class ListHeartbeats(Command):
    heartbeat_name: str | None = None
    service_name: str | None = None
    service_id: int | None = None
    status: Status | None = None
    since: InstantBound | None = None
    until: InstantBound | None = Field(default=None, description="exclusive")
    limit: int | None = Field(default=250, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return parse_status(value)
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix("status ")) from None


@operation("heartbeat.list", scope="read")
def list_heartbeats(call: Call, query: ListHeartbeats) -> tuple[list[HeartbeatView], int]:
    """Newest first."""
    statement = select(
        HeartbeatEvent.heartbeat_id,
        Service.heartbeat_name,
        Service.service_name,
        HeartbeatEvent.time,
        HeartbeatEvent.status,
        Service.team,
        Service.priority,
        HeartbeatEvent.run_id,
        HeartbeatEvent.message,
        HeartbeatEvent.service_id,
    ).join(Service, col(Service.service_id) == col(HeartbeatEvent.service_id))
    session = call.session
    if query.heartbeat_name is not None:
        found = session.exec(
            select(Service.service_id).where(Service.name_key == name_key(query.heartbeat_name))
        ).first()
        if found is None:
            raise NotFound(f"no service {query.heartbeat_name!r} is registered")
        statement = statement.where(HeartbeatEvent.service_id == found)
    if query.service_id is not None:
        statement = statement.where(HeartbeatEvent.service_id == query.service_id)
    if query.service_name is not None:
        statement = statement.where(Service.service_name == query.service_name)
    if query.status is not None:
        statement = statement.where(HeartbeatEvent.status == query.status.value)
    if query.since is not None:
        statement = statement.where(HeartbeatEvent.time >= query.since)
    if query.until is not None:
        statement = statement.where(HeartbeatEvent.time < query.until)
    rows, total = fetch_page(
        session,
        statement,
        [col(HeartbeatEvent.time).desc(), col(HeartbeatEvent.heartbeat_id).desc()],
        query.limit,
        query.offset,
    )
    fields = list(HeartbeatView.model_fields)
    views = [HeartbeatView.model_validate(dict(zip(fields, row, strict=True))) for row in rows]
    return views, total
