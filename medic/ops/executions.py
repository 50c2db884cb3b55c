"""Starting and reading playbook executions. Running them is the engine's job
(medic.playbooks.engine), on a worker; starting one only writes the row and wakes the
scheduler, which hands it to a worker, so any front door can start one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from hmac import compare_digest
from secrets import token_urlsafe
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from medic.config import Settings
from medic.core import executions as rules
from medic.core.approval_outcomes import why_undecidable
from medic.core.playbook_definition import ConditionStep
from medic.core.playbook_parsing import parse_playbook
from medic.core.scopes import grants
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
from medic.ops.actor import slack_principal
from medic.ops.approval_requests import close_request
from medic.ops.errors import Conflict, Forbidden, InvalidInput, NotFound
from medic.ops.fields import Reason, ServiceRef
from medic.ops.operation import Call, Command, KeepWrites, operation
from medic.ops.principals import display_name
from medic.ops.services import find_service


class ExecuteRequest(BaseModel):
    """What a requester says about a run: the body of a start request (REST, hooks)."""

    model_config = ConfigDict(extra="forbid")

    service: ServiceRef | None = Field(
        default=None, description="the service to act on (id or heartbeat name)"
    )
    reason: Reason | None = None


class ExecutePlaybook(ExecuteRequest, Command):
    """Start `playbook`'s current version, on `service` when it names one. `alert_id` is
    the alert that triggered it: set by detection's triggers, never from a door's input."""

    playbook: str = Field(description="the playbook's name")
    alert_id: int | None = None
    # The MCP door sets it when its user (not the model) confirmed this request through
    # elicitation: then the playbook's own approval applies, as for a person's request.
    user_confirmed: bool = False

    def audit_target(self) -> tuple[str | None, object]:
        return "playbook", self.playbook


class ExecutionCommand(Command):
    """A command about one execution."""

    execution_id: int

    def audit_target(self) -> tuple[str | None, object]:
        return "execution", self.execution_id


class GetExecution(ExecutionCommand):
    pass


class DecideExecution(ExecutionCommand):
    """A decision on a pending execution. A door that showed a person the request (a
    Slack button, the approval page) passes what it showed: the execution's approval
    token and pinned version. Then the decision holds only for exactly that request;
    a stale button or a link for anything else changes nothing."""

    approval_token: str | None = Field(default=None, max_length=64, repr=False)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class ApproveExecution(DecideExecution):
    """Let a pending execution run."""


class DeclineExecution(DecideExecution):
    """Cancel a pending execution: it never runs."""


# The most of a step's output a view shows (the store keeps MEDIC_SCRIPT_OUTPUT_BYTES).
SHOWN_OUTPUT_CHARS = 16_384


class StepView(BaseModel):
    """One step's outcome. `output` is what it printed (a script) or answered (a
    webhook), secrets masked when it was recorded, at most SHOWN_OUTPUT_CHARS."""

    position: int
    name: str
    step_type: str
    state: str
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    summary: str | None
    status_code: int | None
    output: str | None = Field(
        default=None, description="captured output or response body, secrets masked"
    )
    output_truncated: bool = Field(
        default=False, description=f"true: only the first {SHOWN_OUTPUT_CHARS} characters"
    )

    @classmethod
    def of(cls, step: ExecutionStep) -> StepView:
        output = step.output
        truncated = output is not None and len(output) > SHOWN_OUTPUT_CHARS
        values = step.model_dump(exclude={"output"})
        return cls(
            **values,
            output=output[:SHOWN_OUTPUT_CHARS] if output is not None else None,
            output_truncated=truncated,
        )


class ExecutionSummary(BaseModel):
    """An execution as a list shows it: where it is, without its steps."""

    execution_id: int
    playbook: str
    version: int
    service_id: int | None
    alert_id: int | None
    state: str
    next_step: int
    requested_by: str = Field(description="who requested it (a key's name, slack:<user>, …)")
    front_door: str
    reason: str | None
    approval_deadline: datetime | None
    approval_on_deadline: str | None = Field(
        default=None, description="what happens at the deadline if nobody decides: run, cancel"
    )
    decided_by: str | None
    decided_at: datetime | None = None
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def summary_of(cls, execution: Execution, requested_by: str) -> ExecutionSummary:
        """`requested_by`: the name shown for the requester (the row keeps its principal)."""
        values: dict[str, Any] = execution.model_dump()
        values["requested_by"] = requested_by
        return ExecutionSummary(**values, playbook=execution.playbook_name)


class ExecutionView(ExecutionSummary):
    """One execution and each of its steps' outcome and output."""

    steps: list[StepView]

    @classmethod
    def of(
        cls, execution: Execution, steps: list[ExecutionStep], requested_by: str
    ) -> ExecutionView:
        """`requested_by`: the name shown for the requester (the row keeps its principal)."""
        summary = ExecutionSummary.summary_of(execution, requested_by)
        return cls(**summary.model_dump(), steps=[StepView.of(s) for s in steps])


@operation("execution.start", scope="write", audit="execution.start")
def execute_playbook(call: Call, command: ExecutePlaybook) -> ExecutionView:
    """Start the playbook's current version, unless the circuit breaker is open. The
    execution returned has run no step yet."""
    name, alert_id = command.playbook, command.alert_id
    settings, actor, session = call.settings, call.actor, call.session
    # The playbook's row is locked until this start commits, so concurrent starts count
    # each other's executions (the circuit breaker below): FOR UPDATE on PostgreSQL;
    # SQLite transactions take the write lock with their first statement (BEGIN
    # IMMEDIATE). `now` is read once the lock is held: a start that waited must not see
    # the starts it waited for as in its future, outside the last hour it counts.
    playbook = session.exec(select(Playbook).where(Playbook.name == name).with_for_update()).first()
    now = datetime.now(UTC)
    if playbook is None:
        raise NotFound(f"no playbook named {name!r}")
    if playbook.archived_at is not None:
        raise Conflict(f"playbook {name!r} was deleted (archived); it never runs again")
    if not playbook.enabled:
        raise Conflict(f"playbook {name!r} is disabled")
    version = session.exec(
        select(PlaybookVersion)
        .where(PlaybookVersion.playbook_id == playbook.playbook_id)
        .where(PlaybookVersion.version == playbook.current_version)
    ).one()
    definition = parse_playbook(version.source_yaml)
    service = find_service(session, command.service) if command.service is not None else None
    if service is None and any(isinstance(s, ConditionStep) for s in definition.steps):
        raise InvalidInput(f"playbook {name!r} checks a heartbeat: name the service to act on")
    service_id = service.service_id if service else None
    refusal = _runaway(session, settings, playbook, service_id, now)
    if refusal is not None:
        # The refusal is kept: in the audit log and, through the outbox, in the team's
        # channel; for an alert, once, however many schedulers ask and however often
        # they restart.
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
        # Its own action, not a refused `execution.start`: nothing was asked wrongly.
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
        raise KeepWrites(Conflict(refusal))
    execution = Execution(
        playbook_id=playbook.playbook_id,
        playbook_name=playbook.name,
        version=version.version,
        service_id=service_id,
        alert_id=alert_id,
        # The principal, not the name: deciding compares it (medic.ops.principals).
        requested_by=actor.principal,
        front_door=actor.front_door,
        reason=command.reason,
        wake_at=now,
        created_at=now,
        updated_at=now,
    )
    forced = (
        actor.front_door == "mcp"
        and settings.medic_mcp_approval == "always"
        and not command.user_confirmed
    )
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
    _start(call, execution, user_confirmed=command.user_confirmed)
    return ExecutionView.of(execution, [], display_name(session, execution.requested_by))


def _refused_before(session: Session, playbook: str, alert_id: int) -> bool:
    earlier = session.exec(
        select(Notification.details)
        .where(Notification.kind == "execution.refused")
        .where(Notification.alert_id == alert_id)
    ).all()
    return any(details.get("playbook") == playbook for details in earlier)


def _start(call: Call, execution: Execution, user_confirmed: bool = False) -> None:
    session = call.session
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
    call.db.wake_scheduler(session)
    call.audit(
        "execution",
        execution.execution_id,
        playbook=execution.playbook_name,
        version=execution.version,
        service_id=execution.service_id,
        state=execution.state,
        reason=execution.reason,
        **({"confirmed_by_user": True} if user_confirmed else {}),
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


@operation("execution.get", scope="read")
def get_execution(call: Call, command: GetExecution) -> ExecutionView:
    execution = call.session.get(Execution, command.execution_id)
    if execution is None:
        raise NotFound(f"no execution with id {command.execution_id}")
    return _view(call.session, execution)


def _view(session: Session, execution: Execution) -> ExecutionView:
    steps = session.exec(
        select(ExecutionStep)
        .where(ExecutionStep.execution_id == execution.execution_id)
        .order_by(col(ExecutionStep.position))
    ).all()
    return ExecutionView.of(execution, list(steps), display_name(session, execution.requested_by))


def approvers_for(
    session: Session, settings: Settings, execution: Execution, slack_team: str | None = None
) -> set[str]:
    """Who may decide, as principals: the service's team approvers and
    MEDIC_SLACK_APPROVERS, Slack user ids of the workspace Medic is installed in, as
    `slack:<slack_team>/<user id>` (the deciding user's workspace, as Slack signed it)."""
    slack_ids = set(settings.medic_slack_approvers)
    if execution.service_id is not None:
        service = session.get(Service, execution.service_id)
        team = (
            session.exec(select(Team).where(Team.name == service.team)).first() if service else None
        )
        if team is not None:
            slack_ids.update(team.approvers)
    return {slack_principal(slack_team, user_id) for user_id in slack_ids}


@operation("execution.approve", scope="write", audit="execution.approve")
def approve(call: Call, command: ApproveExecution) -> ExecutionView:
    """Let a pending execution run. An admin key, or a Slack user among the approvers,
    may decide; never the principal that requested it; once only. Not over MCP unless
    MEDIC_MCP_MAY_APPROVE: a human approves in Slack or on the approval page."""
    return _decide(call, command.execution_id, accept=True, shown=command)


@operation("execution.decline", scope="write", audit="execution.decline")
def decline(call: Call, command: DeclineExecution) -> ExecutionView:
    """Cancel a pending execution; the same people as `approve` may."""
    return _decide(call, command.execution_id, accept=False, shown=command)


MCP_MAY_NOT_APPROVE = (
    "approving over MCP is off: a human approves in Slack or on the approval page "
    "(declining is allowed; MEDIC_MCP_MAY_APPROVE=true lets admin keys approve over MCP)"
)


def _decide(
    call: Call, execution_id: int, accept: bool, shown: DecideExecution | None = None
) -> ExecutionView:
    actor, session = call.actor, call.session
    now = datetime.now(UTC)
    execution = session.exec(
        select(Execution).where(Execution.execution_id == execution_id).with_for_update()
    ).first()
    if execution is None:
        raise NotFound(f"no execution with id {execution_id}")
    _check_shown(session, execution, shown)
    if accept and actor.front_door == "mcp" and not call.settings.medic_mcp_may_approve:
        raise Forbidden(MCP_MAY_NOT_APPROVE)
    # Principals, never names: a key named like a Slack approver is still `key:<id>`.
    approvers = approvers_for(session, call.settings, execution, actor.slack_team_id)
    if actor.front_door != "slack" and grants(actor.scopes, "admin"):
        approvers.add(actor.principal)
    verdict = rules.may_decide(
        actor.principal,
        execution.requested_by,
        approvers,
        execution.state,
        execution.approval_deadline or now,
        now,
    )
    if not verdict.allowed:
        # Too late (decided, expired) is a conflict; the wrong person is forbidden. Both
        # are refusals the audit log keeps (the declaration writes them).
        still_open = execution.state == "pending_approval" and (
            execution.approval_deadline is None or now < execution.approval_deadline
        )
        if still_open:
            raise Forbidden(verdict.reason)
        closed = why_undecidable(
            execution.state,
            execution.decided_by,
            execution.approval_on_deadline,
            execution.error,
        )
        raise Conflict(closed, audited_refusal=True)
    execution.decided_by, execution.decided_at = actor.name, now
    execution.updated_at = now
    if accept:
        execution.state = rules.move(execution.state, "running")
        execution.wake_at = now
    else:
        execution.state = rules.move(execution.state, "cancelled")
        execution.finished_at, execution.wake_at = now, None
        execution.error = f"declined by {actor.name}"
    session.add(execution)
    # Whichever door decided, the request's message in Slack is edited to say so.
    closure = "accepted" if accept else "declined"
    close_request(session, execution, closure, now, by=actor.name, via=actor.front_door)
    call.db.wake_scheduler(session)
    call.audit("execution", execution_id, playbook=execution.playbook_name)
    return _view(session, execution)


def _check_shown(session: Session, execution: Execution, shown: DecideExecution | None) -> None:
    """Refuse (audited, 409) a decision on anything but the request the person saw, and
    any decision on a request whose playbook was disabled or deleted meanwhile."""
    if shown is not None and shown.approval_token is not None:
        expected = execution.approval_token or ""
        if not expected or not compare_digest(expected.encode(), shown.approval_token.encode()):
            raise Conflict(
                f"this approval request is not the one pending as execution "
                f"#{execution.execution_id} (a stale or foreign button or link); nothing changed",
                audited_refusal=True,
            )
    if shown is not None and shown.version is not None and shown.version != execution.version:
        raise Conflict(
            f"this approval request was for version {shown.version}, execution "
            f"#{execution.execution_id} pins version {execution.version}; nothing changed",
            audited_refusal=True,
        )
    if execution.state == "pending_approval":
        playbook = session.get(Playbook, execution.playbook_id)
        if playbook is None or playbook.archived_at is not None or not playbook.enabled:
            raise Conflict(
                f"playbook {execution.playbook_name!r} was disabled or deleted: its pending "
                "executions cannot be decided",
                audited_refusal=True,
            )


def find_by_approval_token(db: Database, token: str) -> ExecutionView:
    """The execution an approval link names. The token is the capability to look; no
    actor check here, as with a ping URL's uuid."""
    with db.session() as session:
        execution = session.exec(select(Execution).where(Execution.approval_token == token)).first()
        if execution is None or not token:
            raise NotFound("no approval request behind this link")
        return _view(session, execution)
