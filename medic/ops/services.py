"""Services: register, change, mute, unmute, deactivate, look up.

Every change recomputes `next_due_at` in the same transaction, so detection never
acts on a stale deadline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from medic.core.detection_rules import rules_of, start_deadline, validate_rules
from medic.core.names import clean_name, environment_name, name_key
from medic.core.schedules import Schedule, next_due_at, schedule_of, validate_schedule
from medic.core.scopes import grants
from medic.core.slugs import slugify
from medic.core.statuses import PROOF_OF_LIFE
from medic.models import HeartbeatEvent, RoutingPolicy, Service
from medic.models.columns import utcnow
from medic.ops import config_history, service_retirement
from medic.ops.errors import Conflict, Forbidden, InvalidInput, NotFound
from medic.ops.named import plain
from medic.ops.operation import Call, Context, operation
from medic.ops.pagination import fetch_page
from medic.ops.service_commands import (
    DeleteService,
    GetService,
    ListServices,
    MuteService,
    RegisterService,
    ServiceChanges,
    UnmuteService,
    UpdateService,
)
from medic.ops.service_dependencies import check_parents, forget_parent, rename_parent
from medic.ops.service_view import ServiceView

ServiceRef = int | str
# Fields an update may leave out but never set to null.
NOT_NULL = frozenset(
    {
        "heartbeat_name",
        "active",
        "alert_interval",
        "threshold",
        "team",
        "priority",
        "schedule_type",
        "grace_period_seconds",
        "alert_after_failures",
        "recover_after_successes",
        "depends_on",
    }
)


# A mute is operational state, not configuration: the history does not keep it.
config_history.track("service", ServiceChanges, frozenset({"muted"}))


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


def view(call: Call, service: Service) -> ServiceView:
    """The ping uuid and URL only for an actor that may post heartbeats (`ingest`)."""
    capabilities = grants(call.actor.scopes, "ingest")
    return ServiceView.of(service, call.settings.medic_base_url, capabilities)


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
        validate_rules(rules_of(service), schedule, service.max_duration_seconds)
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
    service.deadline_check_at = service.next_due_at
    start = start_deadline(schedule, rules_of(service), service.next_due_at)
    if start is not None:
        service.check_at = min(filter(None, (service.check_at, start)))


@operation("service.register", scope="write", audit="service.register")
def register(call: Call, command: RegisterService) -> tuple[ServiceView, bool]:
    """Register a heartbeat: (the service, created). Registering a name again changes
    nothing (v1 answers 200, not 201)."""
    heartbeat_name = environment_name(command.heartbeat_name, command.environment)
    try:
        heartbeat_name = clean_name(heartbeat_name)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    values = command.model_dump(exclude={"environment", "heartbeat_name"}, exclude_none=True)
    service = Service(heartbeat_name=heartbeat_name, name_key=name_key(heartbeat_name), **values)
    session = call.session
    existing = session.exec(select(Service).where(Service.name_key == service.name_key)).first()
    if existing is not None:
        call.unchanged()
        return view(call, existing), False
    _check_routing_policy(session, service.routing_policy)
    service.depends_on = check_parents(session, heartbeat_name, service.depends_on or [])
    if service.slug is None:
        default = slugify(heartbeat_name)
        if default is not None and not _slug_taken(session, service.team, default):
            service.slug = default
    elif _slug_taken(session, service.team, service.slug):
        raise Conflict(f"slug {service.slug!r} is already taken in team {service.team!r}")
    _refresh_deadline(session, service, call.settings.medic_timezone)
    try:
        with session.begin_nested():
            session.add(service)
            session.flush()
    except IntegrityError:
        # A concurrent registration of the same name won the race: "already registered"
        # (or of another name with the same slug in the team: a conflict).
        winner = session.exec(select(Service).where(Service.name_key == service.name_key)).first()
        if winner is None:
            raise Conflict(
                f"slug {service.slug!r} is already taken in team {service.team!r}"
            ) from None
        call.unchanged()
        return view(call, winner), False
    call.db.wake_scheduler(session)
    config_history.created(call, "service", service)
    call.audit("service", service.service_id, heartbeat_name=heartbeat_name)
    return view(call, service), True


def create(context: Context, command: RegisterService) -> ServiceView:
    """v2 create: register, but a name that exists is a 409."""
    service, created = register(context, command)
    if not created:
        raise Conflict(f"a service named {service.heartbeat_name!r} is already registered")
    return service


@operation("service.update", scope="write", audit="service.update")
def update_service(call: Call, command: UpdateService) -> ServiceView:
    """Change a service's settings. Deactivating it resolves its open alert."""
    values = command.changes.model_dump(exclude_unset=True, exclude={"muted"})
    if not values:
        raise InvalidInput("no fields to update")
    for field in NOT_NULL & values.keys():
        if values[field] is None:
            raise InvalidInput(f"{field} must not be null")
    session = call.session
    service = find_service(session, command.service, lock=True)
    configured = config_history.snapshot("service", service)
    if "team" in values and values["team"] != service.team:
        _require_admin_for_team_change(call)
    if values.get("routing_policy") is not None:
        _check_routing_policy(session, values["routing_policy"])
    renamed = values.get("heartbeat_name", service.heartbeat_name) != service.heartbeat_name
    if "depends_on" in values:
        values["depends_on"] = check_parents(
            session,
            values.get("heartbeat_name", service.heartbeat_name),
            values["depends_on"],
            previous_name=service.heartbeat_name if renamed else None,
        )
    if renamed:
        rename_parent(session, service.heartbeat_name, values["heartbeat_name"])
    slug, team = values.get("slug", service.slug), values.get("team", service.team)
    moved = slug is not None and (slug, team) != (service.slug, service.team)
    if moved and _slug_taken(session, team, slug):
        raise Conflict(f"slug {slug!r} is already taken in team {team!r}")
    before = {k: plain(getattr(service, k)) for k in values}
    after = {k: plain(v) for k, v in values.items()}
    active = values.pop("active", None)
    for field, value in values.items():
        setattr(service, field, value)
    if "heartbeat_name" in values:
        service.name_key = name_key(service.heartbeat_name)
    if active is not None and active != service.active:
        service.active = active
        if not active:
            with session.no_autoflush:  # a rename onto a taken name is a 409 below
                service_retirement.deactivated(call, service)
    service.date_modified = utcnow()
    # The scheduler re-evaluates at once: a changed schedule may make it late, or
    # recovered, now rather than at a deadline computed from the old one.
    service.check_at = service.date_modified
    # No autoflush: a rename onto a taken name must fail at the flush below (409), not here.
    with session.no_autoflush:
        _refresh_deadline(session, service, call.settings.medic_timezone)
    session.add(service)
    heartbeat_name = service.heartbeat_name  # a failed flush expires the object
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"a service named {heartbeat_name!r} is already registered") from None
    call.db.wake_scheduler(session)
    config_history.changed(call, "service", service, configured)
    call.audit(
        "service",
        service.service_id,
        heartbeat_name=service.heartbeat_name,
        before=before,
        after=after,
    )
    return view(call, service)


def _slug_taken(session: Session, team: str, slug: str) -> bool:
    found = session.exec(
        select(Service.service_id).where(Service.team == team).where(Service.slug == slug)
    ).first()
    return found is not None


def _require_admin_for_team_change(call: Call) -> None:
    """A service's team decides who approves its playbooks and where its alerts go: moving
    it is configuring trust (admin), not operating (write). Registering a new service
    with a team is operating."""
    if not grants(call.actor.scopes, "admin"):
        raise Forbidden(
            "changing a service's team needs the 'admin' scope (the team decides who "
            f"approves its playbooks and where its alerts go); {call.actor.name!r} has "
            f"{', '.join(sorted(call.actor.scopes)) or 'none'}"
        )


def apply_changes(context: Context, ref: ServiceRef, changes: ServiceChanges) -> ServiceView:
    """A partial update as doors receive it (v1 `POST /service/{name}`, v2 PATCH):
    settings through update, `muted` through the mute and unmute operations, so a mute
    is a mute (reason, duration, audit `service.mute`) whichever way it was asked."""
    if "muted" in changes.model_fields_set and changes.muted is None:
        raise InvalidInput("muted must not be null")
    settings_changed = changes.model_fields_set - {"muted"}
    result: ServiceView | None = None
    if settings_changed or "muted" not in changes.model_fields_set:
        result = update_service(context, UpdateService(service=ref, changes=changes))
        ref = result.service_id
    if changes.muted is True:
        result = mute(context, MuteService(service=ref))
    elif changes.muted is False:
        result = unmute(context, UnmuteService(service=ref))
    assert result is not None
    return result


@operation("service.mute", scope="write", audit="service.mute")
def mute(call: Call, command: MuteService) -> ServiceView:
    """Silence notifications (not detection) until the duration passes; the scheduler
    unmutes at `muted_until` (check_at), auditing it as the system."""
    duration = command.duration or timedelta(hours=call.settings.alert_auto_unmute_hours)
    service = find_service(call.session, command.service, lock=True)
    now = datetime.now(UTC)
    service.muted = True
    service.date_muted = now
    service.muted_until = now + duration
    service.mute_reason = command.reason
    service.check_at = min(filter(None, (service.check_at, service.muted_until)))
    service.date_modified = utcnow()
    call.session.add(service)
    call.db.wake_scheduler(call.session)
    call.audit(
        "service",
        service.service_id,
        heartbeat_name=service.heartbeat_name,
        reason=command.reason,
        duration_seconds=int(duration.total_seconds()),
        muted_until=plain(service.muted_until),
    )
    return view(call, service)


@operation("service.unmute", scope="write", audit="service.unmute")
def unmute(call: Call, command: UnmuteService) -> ServiceView:
    service = find_service(call.session, command.service, lock=True)
    service.muted = False
    service.muted_until = None
    service.mute_reason = None
    service.date_modified = utcnow()
    # A service that went down while muted is announced now (medic.scheduler).
    service.check_at = service.date_modified
    call.session.add(service)
    call.db.wake_scheduler(call.session)
    call.audit("service", service.service_id, heartbeat_name=service.heartbeat_name)
    return view(call, service)


@operation("service.delete", scope="admin", audit="service.delete")
def delete_service(call: Call, command: DeleteService) -> ServiceView:
    """Delete a service and its history; an open alert is resolved where it was
    announced (medic.ops.service_retirement)."""
    service = find_service(call.session, command.service, lock=True)
    deleted = view(call, service)
    resolved = service_retirement.before_deletion(call, service)
    forget_parent(call.session, service.heartbeat_name)
    config_history.deleted(call, "service", service)
    call.audit(
        "service",
        service.service_id,
        heartbeat_name=service.heartbeat_name,
        resolved_alert_id=resolved,
    )
    # Its heartbeats too (no foreign key cascades to them): with its row locked, no
    # heartbeat writer stores one for it meanwhile (medic.ingest.postgres_batch).
    call.session.exec(
        delete(HeartbeatEvent).where(col(HeartbeatEvent.service_id) == service.service_id)
    )
    call.session.delete(service)
    return deleted


@operation("service.get", scope="read")
def get_service(call: Call, command: GetService) -> ServiceView:
    return view(call, find_service(call.session, command.service))


@operation("service.list", scope="read")
def list_services(call: Call, command: ListServices) -> tuple[list[ServiceView], int]:
    statement = select(Service)
    if command.service_name is not None:
        statement = statement.where(Service.service_name == command.service_name)
    if command.active is not None:
        statement = statement.where(Service.active == command.active)
    if command.team is not None:
        statement = statement.where(Service.team == command.team)
    if command.state is not None:
        statement = statement.where(Service.state == command.state)
    rows, total = fetch_page(
        call.session, statement, [col(Service.service_id)], command.limit, command.offset
    )
    return [view(call, row) for row in rows], total
