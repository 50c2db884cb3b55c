"""Services: register, change, mute, unmute, deactivate, look up.

Every change recomputes `next_due_at` in the same transaction, so detection never
acts on a stale deadline, and writes its audit entry in that transaction too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from medic.config import validate_timezone
from medic.core.names import clean_name, environment_name, name_key
from medic.core.schedules import Schedule, next_due_at, schedule_of, validate_schedule
from medic.core.statuses import PROOF_OF_LIFE
from medic.db import Database
from medic.models import Alert, HeartbeatEvent, RoutingPolicy, Service
from medic.models.columns import utcnow
from medic.ops import audit
from medic.ops.actor import Actor
from medic.ops.errors import Conflict, InvalidInput, NotFound
from medic.ops.paging import fetch_page

PRIORITIES = ("p1", "p2", "p3", "p4", "p5")
ServiceRef = int | str
STATES = ("new", "up", "down")
# Fields an update may leave out but never set to null.
NOT_NULL = frozenset(
    {
        "heartbeat_name",
        "active",
        "muted",
        "down",
        "alert_interval",
        "threshold",
        "team",
        "priority",
        "schedule_type",
        "grace_period_seconds",
    }
)


def _clean_priority(value: str | None) -> str | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered not in PRIORITIES:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")
    return lowered


def _clean_optional_timezone(value: str | None) -> str | None:
    return None if value is None or value == "" else validate_timezone(value)


def _no_nul(value: str | None) -> str | None:
    """PostgreSQL cannot store NUL in text (a 500 there); refuse it on every backend."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _optional_name(value: str | None) -> str | None:
    """An empty routing_policy means none (the `default` policy)."""
    return None if value is None or value == "" else value


class ServiceFields(BaseModel):
    """Everything about a service a user may set; shared by create and update."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    service_name: str | None = Field(default=None, max_length=255)
    alert_interval: int | None = Field(default=None, description="minutes")
    threshold: int | None = None
    team: str | None = Field(default=None, min_length=1, max_length=255)
    priority: str | None = None
    runbook: str | None = Field(default=None, max_length=2048)
    schedule_type: Literal["interval", "cron", "window"] | None = None
    cron_expression: str | None = Field(default=None, max_length=255)
    timezone: str | None = Field(default=None, description="IANA name; default MEDIC_TIMEZONE")
    grace_period_seconds: int | None = None
    max_duration_seconds: int | None = Field(default=None, ge=1, le=366 * 86400)
    routing_policy: str | None = Field(
        default=None, max_length=255, description="a routing policy's name; null: `default`"
    )

    _priority = field_validator("priority")(_clean_priority)
    _timezone = field_validator("timezone")(_clean_optional_timezone)
    _text = field_validator("service_name", "team", "runbook", "cron_expression", "routing_policy")(
        _no_nul
    )
    _routing_policy = field_validator("routing_policy")(_optional_name)


class ServiceSpec(ServiceFields):
    """A new service. v1 defaults: threshold 1, team site-reliability, priority p3."""

    heartbeat_name: str = Field(max_length=255)
    alert_interval: int = Field(description="minutes")  # type: ignore[assignment]
    environment: str | None = Field(default=None, max_length=64)
    active: bool = True

    @field_validator("heartbeat_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return clean_name(value)


class ServiceChanges(ServiceFields):
    """A partial update; fields left out stay as they are."""

    heartbeat_name: str | None = Field(default=None, max_length=255)
    active: bool | None = None
    muted: bool | None = None
    down: bool | None = None

    @field_validator("heartbeat_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else clean_name(value)


@dataclass(frozen=True, slots=True)
class ServiceRegistration:
    service: Service
    created: bool


def find_service(session: Session, ref: ServiceRef, lock: bool = False) -> Service:
    statement = (
        select(Service).where(Service.service_id == ref)
        if isinstance(ref, int)
        else select(Service).where(Service.name_key == name_key(ref))
    )
    if lock:
        statement = statement.with_for_update()
    service = session.exec(statement).first()
    if service is None:
        raise NotFound(
            f"no service {ref!r} is registered"
            if isinstance(ref, str)
            else f"no service with id {ref}"
        )
    return service


def _check_routing_policy(session: Session, name: str | None) -> None:
    """A service may only name a routing policy that exists (teams stay free text)."""
    if name is None:
        return
    found = session.exec(select(RoutingPolicy.name).where(RoutingPolicy.name == name)).first()
    if found is None:
        raise InvalidInput(f"routing_policy: no routing policy named {name!r}")


def _check_schedule(service: Service, default_timezone: str) -> Schedule:
    schedule = schedule_of(service, default_timezone)
    try:
        validate_schedule(schedule)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return schedule


def _refresh_deadline(session: Session, service: Service, default_timezone: str) -> None:
    schedule = _check_schedule(service, default_timezone)
    beats: list[datetime] = []
    if service.service_id is not None:
        beats = list(
            session.exec(
                select(HeartbeatEvent.time)
                .where(HeartbeatEvent.service_id == service.service_id)
                .where(col(HeartbeatEvent.status).in_([s.value for s in PROOF_OF_LIFE]))
                .order_by(col(HeartbeatEvent.time).desc())
                .limit(schedule.threshold)
            ).all()
        )
    service.next_due_at = next_due_at(schedule, beats, service.date_added)


def register(
    db: Database, actor: Actor, spec: ServiceSpec, default_timezone: str
) -> ServiceRegistration:
    """Register a heartbeat. Registering a name again changes nothing (v1: 200, not 201)."""
    actor.require("write")
    heartbeat_name = environment_name(spec.heartbeat_name, spec.environment)
    try:
        heartbeat_name = clean_name(heartbeat_name)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    values = spec.model_dump(exclude={"environment", "heartbeat_name"}, exclude_none=True)
    service = Service(heartbeat_name=heartbeat_name, name_key=name_key(heartbeat_name), **values)
    try:
        with db.session() as session:
            existing = session.exec(
                select(Service).where(Service.name_key == service.name_key)
            ).first()
            if existing is not None:
                return ServiceRegistration(service=existing, created=False)
            _check_routing_policy(session, service.routing_policy)
            _refresh_deadline(session, service, default_timezone)
            session.add(service)
            session.flush()
            db.wake_scheduler(session)
            audit.record(
                session,
                actor,
                "service.register",
                "service",
                service.service_id,
                heartbeat_name=heartbeat_name,
            )
    except IntegrityError:
        # A concurrent registration of the same name won the race; that is "already registered".
        with db.session() as session:
            return ServiceRegistration(service=find_service(session, heartbeat_name), created=False)
    return ServiceRegistration(service=service, created=True)


def create(db: Database, actor: Actor, spec: ServiceSpec, default_timezone: str) -> Service:
    """v2 create: like register, but a name that exists is a 409."""
    result = register(db, actor, spec, default_timezone)
    if not result.created:
        raise Conflict(f"a service named {result.service.heartbeat_name!r} is already registered")
    return result.service


def update_service(
    db: Database,
    actor: Actor,
    ref: ServiceRef,
    changes: ServiceChanges,
    default_timezone: str,
    auto_unmute_hours: float,
) -> Service:
    actor.require("write")
    values = changes.model_dump(exclude_unset=True)
    if not values:
        raise InvalidInput("no fields to update")
    for field in NOT_NULL & values.keys():
        if values[field] is None:
            raise InvalidInput(f"{field} must not be null")
    with db.session() as session:
        service = find_service(session, ref, lock=True)
        if values.get("routing_policy") is not None:
            _check_routing_policy(session, values["routing_policy"])
        before = {k: _plain(getattr(service, k)) for k in values}
        muted = values.pop("muted", None)
        active = values.pop("active", None)
        for field, value in values.items():
            setattr(service, field, value)
        if "heartbeat_name" in values:
            service.name_key = name_key(service.heartbeat_name)
        if active is not None and active != service.active:
            service.active = active
            if not active:
                _close_open_alert(session, service)
        if muted is True and not service.muted:
            _apply_mute(service, timedelta(hours=auto_unmute_hours), None)
        elif muted is False:
            _clear_mute(service)
        service.date_modified = utcnow()
        # The scheduler re-evaluates at once: a changed schedule may make it late, or
        # recovered, now rather than at a deadline computed from the old one.
        service.check_at = service.date_modified
        # No autoflush: a rename onto a taken name must fail at the flush below (409), not here.
        with session.no_autoflush:
            _refresh_deadline(session, service, default_timezone)
        session.add(service)
        heartbeat_name = service.heartbeat_name  # a failed flush expires the object
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"a service named {heartbeat_name!r} is already registered") from None
        db.wake_scheduler(session)
        audit.record(
            session,
            actor,
            "service.update",
            "service",
            service.service_id,
            heartbeat_name=service.heartbeat_name,
            before=before,
            after={k: _plain(v) for k, v in changes.model_dump(exclude_unset=True).items()},
        )
    return service


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _close_open_alert(session: Session, service: Service) -> None:
    """Deactivating a service ends its incident: a retired service is not down."""
    session.exec(
        update(Alert)
        .where(col(Alert.service_id) == service.service_id)
        .where(col(Alert.active))
        .values(active=False, closed_date=utcnow())
    )
    service.down = False


def _apply_mute(service: Service, duration: timedelta, reason: str | None) -> None:
    """The scheduler unmutes at `muted_until` (check_at), auditing it as the system."""
    now = datetime.now(UTC)
    service.muted = True
    service.date_muted = now
    service.muted_until = now + duration
    service.mute_reason = reason
    service.check_at = min(filter(None, (service.check_at, service.muted_until)))


def _clear_mute(service: Service) -> None:
    service.muted = False
    service.muted_until = None
    service.mute_reason = None


def mute(
    db: Database,
    actor: Actor,
    ref: ServiceRef,
    duration: timedelta | None,
    reason: str | None,
    auto_unmute_hours: float,
) -> Service:
    """Silence notifications (not detection) until `duration` passes; default auto-unmute."""
    actor.require("write")
    if reason is not None and len(reason) > 1000:
        raise InvalidInput("reason must be at most 1000 characters")
    duration = duration or timedelta(hours=auto_unmute_hours)
    with db.session() as session:
        service = find_service(session, ref, lock=True)
        _apply_mute(service, duration, reason)
        service.date_modified = utcnow()
        session.add(service)
        db.wake_scheduler(session)
        audit.record(
            session,
            actor,
            "service.mute",
            "service",
            service.service_id,
            heartbeat_name=service.heartbeat_name,
            reason=reason,
            muted_until=_plain(service.muted_until),
        )
    return service


def unmute(db: Database, actor: Actor, ref: ServiceRef) -> Service:
    actor.require("write")
    with db.session() as session:
        service = find_service(session, ref, lock=True)
        _clear_mute(service)
        service.date_modified = utcnow()
        # A service that went down while muted is announced now (medic.detection).
        service.check_at = service.date_modified
        session.add(service)
        db.wake_scheduler(session)
        audit.record(
            session,
            actor,
            "service.unmute",
            "service",
            service.service_id,
            heartbeat_name=service.heartbeat_name,
        )
    return service


def delete_service(db: Database, actor: Actor, ref: ServiceRef) -> None:
    actor.require("admin")
    with db.session() as session:
        service = find_service(session, ref, lock=True)
        audit.record(
            session,
            actor,
            "service.delete",
            "service",
            service.service_id,
            heartbeat_name=service.heartbeat_name,
        )
        session.delete(service)


def get_service(db: Database, actor: Actor, ref: ServiceRef) -> Service:
    actor.require("read")
    with db.session() as session:
        return find_service(session, ref)


def list_services(
    db: Database,
    actor: Actor,
    *,
    service_name: str | None = None,
    active: bool | None = None,
    team: str | None = None,
    state: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Service], int]:
    actor.require("read")
    statement = select(Service)
    if service_name is not None:
        statement = statement.where(Service.service_name == service_name)
    if active is not None:
        statement = statement.where(Service.active == active)
    if team is not None:
        statement = statement.where(Service.team == team)
    if state is not None:
        statement = statement.where(Service.state == state)
    with db.session() as session:
        return fetch_page(session, statement, [col(Service.service_id)], limit, offset)
