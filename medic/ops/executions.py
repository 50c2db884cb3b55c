"""Starting and reading playbook executions. Running them is the engine's job
(medic.playbooks.engine), on a worker; starting one only writes the row and wakes the
scheduler, which hands it to a worker, so any front door can start one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from secrets import token_urlsafe
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from medic.config import Settings
from medic.core import executions as rules
from medic.core.playbook_definition import ConditionStep
from medic.core.playbook_parsing import parse_playbook
from medic.db import Database
from medic.models import (
    Execution,
    ExecutionStep,
    Notification,
    Playbook,
    PlaybookVersion,
    Service,
    Team,
)
from medic.ops import audit
from medic.ops.actor import Actor
from medic.ops.errors import Conflict, Forbidden, InvalidInput, NotFound
from medic.ops.services import find_service


class ExecuteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: int | str | None = Field(
        default=None, description="the service to act on (id or heartbeat name)"
    )
    reason: str | None = Field(default=None, max_length=1000)


class StepView(BaseModel):
    position: int
    name: str
    step_type: str
    state: str
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    summary: str | None
    status_code: int | None


class ExecutionView(BaseModel):
    execution_id: int
    playbook: str
    version: int
    service_id: int | None
    alert_id: int | None
    state: str
    next_step: int
    requested_by: str
    front_door: str
    reason: str | None
    approval_deadline: datetime | None
    decided_by: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    steps: list[StepView]

    @classmethod
    def of(cls, execution: Execution, steps: list[ExecutionStep]) -> ExecutionView:
        values: dict[str, Any] = execution.model_dump()
        return cls(
            **values,
            playbook=execution.playbook_name,
            steps=[StepView.model_validate(s, from_attributes=True) for s in steps],
        )


def execute_playbook(
    db: Database,
    settings: Settings,
    actor: Actor,
    name: str,
    request: ExecuteRequest,
    alert_id: int | None = None,
) -> Execution:
    """Start the playbook's current version, unless the circuit breaker is open. The
    execution returned has run no step yet: `ExecutionView.of(execution, steps=[])`."""
    actor.require("write")
    now = datetime.now(UTC)
    with db.session() as session:
        playbook = session.exec(select(Playbook).where(Playbook.name == name)).first()
        if playbook is None:
            raise NotFound(f"no playbook named {name!r}")
        if not playbook.enabled:
            raise Conflict(f"playbook {name!r} is disabled")
        version = session.exec(
            select(PlaybookVersion)
            .where(PlaybookVersion.playbook_id == playbook.playbook_id)
            .where(PlaybookVersion.version == playbook.current_version)
        ).one()
        definition = parse_playbook(version.source_yaml)
        service = find_service(session, request.service) if request.service is not None else None
        if service is None and any(isinstance(s, ConditionStep) for s in definition.steps):
            raise InvalidInput(f"playbook {name!r} checks a heartbeat: name the service to act on")
        service_id = service.service_id if service else None
        refusal = _runaway(session, settings, playbook, service_id, now)
        if refusal is None:
            execution = Execution(
                playbook_id=playbook.playbook_id,
                playbook_name=playbook.name,
                version=version.version,
                service_id=service_id,
                alert_id=alert_id,
                requested_by=actor.name,
                front_door=actor.front_door,
                reason=request.reason,
                wake_at=now,
                created_at=now,
                updated_at=now,
            )
            forced = actor.front_door == "mcp" and settings.medic_mcp_approval == "always"
            execution.state = rules.first_state(definition.approval, human_approval_forced=forced)
            if execution.state == "pending_approval":
                window = rules.approval_window(
                    definition.approval,
                    now,
                    timedelta(minutes=settings.medic_approval_expiry_minutes),
                    human_approval_forced=forced,
                )
                execution.approval_deadline = window.deadline
                execution.approval_on_deadline = window.on_deadline
                execution.approval_token = token_urlsafe(24)
                execution.wake_at = window.deadline
            _start(db, session, actor, execution)
            return execution
    # Outside the transaction that read the history: the refusal is recorded on its own,
    # in the audit log and, through the outbox, in the team's channel; for an alert, once,
    # however many schedulers ask and however often they restart.
    with db.session() as session:
        if alert_id is not None and _refused_before(session, name, alert_id):
            raise Conflict(refusal)
        session.add(
            Notification(
                kind="execution.refused",
                service_id=service_id,
                alert_id=alert_id,
                created_at=now,
                details={"playbook": name, "reason": refusal, "requested_by": actor.name},
            )
        )
        audit.record(
            session,
            actor,
            "execution.refused",
            "playbook",
            name,
            outcome="refused",
            service_id=service_id,
            reason=refusal,
        )
    raise Conflict(refusal)


def _refused_before(session: Session, playbook: str, alert_id: int) -> bool:
    earlier = session.exec(
        select(Notification.details)
        .where(Notification.kind == "execution.refused")
        .where(Notification.alert_id == alert_id)
    ).all()
    return any(details.get("playbook") == playbook for details in earlier)


def _start(db: Database, session: Session, actor: Actor, execution: Execution) -> None:
    session.add(execution)
    session.flush()
    if execution.state == "pending_approval":
        # Sent to the team's Slack channel by the outbox, like an alert.
        session.add(
            Notification(
                kind="execution.approval_requested",
                service_id=execution.service_id,
                alert_id=execution.alert_id,
                created_at=execution.created_at,
                details={
                    "execution_id": execution.execution_id,
                    "playbook": execution.playbook_name,
                },
            )
        )
    db.wake_scheduler(session)
    audit.record(
        session,
        actor,
        "execution.start",
        "execution",
        execution.execution_id,
        playbook=execution.playbook_name,
        version=execution.version,
        service_id=execution.service_id,
        state=execution.state,
        reason=execution.reason,
    )


def _runaway(
    session: Session,
    settings: Settings,
    playbook: Playbook,
    service_id: int | None,
    now: datetime,
) -> str | None:
    """Why another execution would be a loop, not a remedy (None: it would not)."""
    limit = settings.medic_playbook_max_executions_per_hour
    started = session.exec(
        select(Execution.created_at)
        .where(Execution.playbook_id == playbook.playbook_id)
        .where(Execution.service_id == service_id)
        .where(col(Execution.created_at) > now - timedelta(hours=1))
    ).all()
    if not rules.circuit_open(list(started), now, limit):
        return None
    return (
        f"circuit breaker: playbook {playbook.name!r} already ran {len(started)} times in"
        f" the last hour on this service (limit {limit},"
        " MEDIC_PLAYBOOK_MAX_EXECUTIONS_PER_HOUR); refusing another"
    )


def get_execution(db: Database, actor: Actor, execution_id: int) -> ExecutionView:
    actor.require("read")
    with db.session() as session:
        execution = session.get(Execution, execution_id)
        if execution is None:
            raise NotFound(f"no execution with id {execution_id}")
        steps = session.exec(
            select(ExecutionStep)
            .where(ExecutionStep.execution_id == execution_id)
            .order_by(col(ExecutionStep.position))
        ).all()
        return ExecutionView.of(execution, list(steps))


def approvers_for(session: Session, settings: Settings, execution: Execution) -> set[str]:
    """Who may decide, as principals: the service's team approvers and
    MEDIC_SLACK_APPROVERS (as `slack:<user id>`)."""
    slack_ids = set(settings.medic_slack_approvers)
    if execution.service_id is not None:
        service = session.get(Service, execution.service_id)
        team = (
            session.exec(select(Team).where(Team.name == service.team)).first() if service else None
        )
        if team is not None:
            slack_ids.update(team.approvers)
    return {f"slack:{user_id}" for user_id in slack_ids}


def decide(
    db: Database, settings: Settings, actor: Actor, execution_id: int, accept: bool
) -> Execution:
    """Accept or decline a pending execution. An admin key, or a Slack user among the
    approvers, may decide; never the principal that requested it; once only."""
    actor.require("write")
    now = datetime.now(UTC)
    with db.session() as session:
        execution = session.exec(
            select(Execution).where(Execution.execution_id == execution_id).with_for_update()
        ).first()
        if execution is None:
            raise NotFound(f"no execution with id {execution_id}")
        approvers = approvers_for(session, settings, execution)
        if actor.front_door != "slack" and "admin" in actor.scopes:
            approvers.add(actor.name)
        verdict = rules.may_decide(
            actor.name,
            execution.requested_by,
            approvers,
            execution.state,
            execution.approval_deadline or now,
            now,
        )
        if not verdict.allowed:
            refused = verdict.reason
            # Too late (decided, expired) is a conflict; the wrong person is forbidden.
            still_open = execution.state == "pending_approval" and (
                execution.approval_deadline is None or now < execution.approval_deadline
            )
            error: type[Conflict | Forbidden] = Forbidden if still_open else Conflict
        else:
            execution.decided_by, execution.decided_at = actor.name, now
            execution.updated_at = now
            if accept:
                execution.state = rules.move(execution.state, "running")
                execution.wake_at = now
                db.wake_scheduler(session)
            else:
                execution.state = rules.move(execution.state, "cancelled")
                execution.finished_at, execution.wake_at = now, None
                execution.error = f"declined by {actor.name}"
            session.add(execution)
            audit.record(
                session,
                actor,
                "execution.approve" if accept else "execution.decline",
                "execution",
                execution_id,
                playbook=execution.playbook_name,
            )
            return execution
    with db.session() as session:
        audit.record(
            session,
            actor,
            "execution.approve" if accept else "execution.decline",
            "execution",
            execution_id,
            outcome="refused",
            reason=refused,
        )
    raise error(refused)


def find_by_approval_token(db: Database, token: str) -> ExecutionView:
    """The execution an approval link names. The token is the capability to look; no
    actor check here, as with a ping URL's uuid."""
    with db.session() as session:
        execution = session.exec(select(Execution).where(Execution.approval_token == token)).first()
        if execution is None or not token:
            raise NotFound("no approval request behind this link")
        steps = session.exec(
            select(ExecutionStep)
            .where(ExecutionStep.execution_id == execution.execution_id)
            .order_by(col(ExecutionStep.position))
        ).all()
        return ExecutionView.of(execution, list(steps))
