"""Agents (SRE-21): enroll a host's medic-agent, list and revoke agents, and what an
agent itself may do: make contact, take its host's next job, report a job's result.

An agent acts with a key of the `agent` scope bound to its host (`Actor.agent_host`),
and every agent operation works on that host's rows only: another host's job is "not
found". Nothing else in Medic accepts an agent key (medic.core.scopes).
"""

from __future__ import annotations

import contextlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import event
from sqlmodel import Session, col, select

from medic.core import agents as rules
from medic.core.executions import FINAL_STATES
from medic.core.sealing import unseal
from medic.metrics import AGENT_SCRIPT_EXECUTIONS, AGENT_SCRIPT_SKIPPED
from medic.models import Agent, AgentJob, Execution, Notification, Service
from medic.ops import keys, services
from medic.ops.actor import SYSTEM, Actor
from medic.ops.errors import Conflict, Forbidden, NotFound
from medic.ops.keys import CreateKey, RevokeKey
from medic.ops.operation import Call, Command, Context, operation
from medic.ops.service_commands import RegisterService


class AgentView(BaseModel):
    """An agent as people see it: its host, its service, when it last polled."""

    agent_id: int
    host: str
    service: str | None = Field(description="the service its polling keeps alive")
    service_state: str | None = Field(description="new, up or down (late)")
    api_key_id: int | None
    version: str | None
    last_contact_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    counters: dict[str, Any] = Field(description="the agent's own counters, as last reported")


class Enrolled(BaseModel):
    """An enrolled agent and its key, shown only in this answer."""

    agent: AgentView
    key: str = Field(description="the agent's key; store it now, it is not shown again")


def _view(session: Session, agent: Agent) -> AgentView:
    assert agent.agent_id is not None
    service = session.get(Service, agent.service_id) if agent.service_id else None
    return AgentView(
        agent_id=agent.agent_id,
        host=agent.host,
        service=service.heartbeat_name if service else None,
        service_state=service.state if service else None,
        api_key_id=agent.api_key_id,
        version=agent.version,
        last_contact_at=agent.last_contact_at,
        revoked_at=agent.revoked_at,
        created_at=agent.created_at,
        counters=agent.counters,
    )


def _host(value: str) -> str:
    try:
        return rules.clean_host(value)
    except ValueError as exc:
        raise ValueError(str(exc)) from None


class HostCommand(Command):
    host: str = Field(max_length=255, description="the agent's host name")

    _clean = field_validator("host")(_host)

    def audit_target(self) -> tuple[str | None, object]:
        return "agent", self.host


class EnrollAgent(HostCommand):
    """A host's agent: its key (agent scope, bound to the host) and its service."""

    team: str | None = Field(default=None, max_length=255, description="who hears of it")
    alert_interval: int = Field(
        default=rules.DEFAULT_ALERT_MINUTES,
        ge=1,
        le=24 * 60,
        description="minutes without a poll before its service is late",
    )


class GetAgent(HostCommand):
    pass


class RevokeAgent(HostCommand):
    """Its key stops working and its queued jobs are cancelled; its history stays."""


class ListAgents(Command):
    pass


def enroll(context: Context, command: EnrollAgent) -> Enrolled:
    """Register the agent's service, create its key, bind both to the host: three
    audited operations (an admin's). Enrolling a revoked host again gives it a new key."""
    with context.db.session() as session:
        existing = session.exec(select(Agent).where(Agent.host == command.host)).first()
        if existing is not None and existing.revoked_at is None:
            raise Conflict(
                f"host {command.host!r} already has an agent; revoke it first for a new key"
            )
    _register_service(context, command.host, command.team, command.alert_interval)
    issued = keys.create_key(
        context,
        CreateKey.of(
            name=f"{rules.service_name(command.host)}-{secrets.token_hex(4)}",
            scopes=["agent"],
            host=command.host,
        ),
    )
    return Enrolled(agent=bind_agent(context, command, issued.api_key_id), key=issued.key)


def _register_service(
    context: Context, host: str, team: str | None, alert_interval: int
) -> int | None:
    values: dict[str, Any] = {
        "heartbeat_name": rules.service_name(host),
        "service_name": f"medic-agent on {host}",
        "alert_interval": alert_interval,
    }
    if team is not None:
        values["team"] = team
    view, _ = services.register(context, RegisterService.of(**values))
    return view.service_id


@operation("agent.enroll", scope="admin", audit="agent.enroll")
def bind_agent(call: Call, command: EnrollAgent, api_key_id: int) -> AgentView:
    session = call.session
    service = session.exec(
        select(Service).where(Service.name_key == rules.service_name(command.host))
    ).first()
    agent = session.exec(select(Agent).where(Agent.host == command.host).with_for_update()).first()
    if agent is None:
        agent = Agent(host=command.host)
    elif agent.revoked_at is None:
        raise Conflict(f"host {command.host!r} already has an agent")
    agent.api_key_id, agent.revoked_at = api_key_id, None
    agent.service_id = service.service_id if service else None
    session.add(agent)
    session.flush()
    call.audit("agent", command.host, api_key_id=api_key_id)
    return _view(session, agent)


def first_contact(context: Context, actor: Actor) -> None:
    """A key made with `medic keys create --scope agent --host …` rather than enrolled:
    its host gets its agent row and service the first time it polls (as Medic)."""
    assert actor.agent_host is not None and actor.api_key_id is not None
    system = Context(context.db, SYSTEM, context.key_cache)
    command = EnrollAgent.of(host=actor.agent_host)
    _register_service(system, command.host, None, command.alert_interval)
    with contextlib.suppress(Conflict):  # a concurrent first poll bound it
        bind_agent(system, command, actor.api_key_id)


@operation("agent.list", scope="read")
def list_agents(call: Call, _query: ListAgents) -> list[AgentView]:
    rows = call.session.exec(select(Agent).order_by(col(Agent.host))).all()
    return [_view(call.session, row) for row in rows]


@operation("agent.get", scope="read")
def get_agent(call: Call, query: GetAgent) -> AgentView:
    agent = call.session.exec(select(Agent).where(Agent.host == query.host)).first()
    if agent is None:
        raise NotFound(f"no agent for host {query.host!r}")
    return _view(call.session, agent)


@operation("agent.revoke", scope="admin", audit="agent.revoke")
def revoke_agent(call: Call, command: RevokeAgent) -> AgentView:
    session = call.session
    agent = session.exec(select(Agent).where(Agent.host == command.host).with_for_update()).first()
    if agent is None:
        raise NotFound(f"no agent for host {command.host!r}")
    if agent.revoked_at is not None:
        call.unchanged()
        return _view(session, agent)
    now = datetime.now(UTC)
    agent.revoked_at = now
    session.add(agent)
    cancelled = 0
    for job in session.exec(
        select(AgentJob).where(AgentJob.host == agent.host).where(AgentJob.state == "queued")
    ).all():
        job.state, job.finished_at, job.message = "cancelled", now, "the agent was revoked"
        session.add(job)
        cancelled += 1
    call.audit("agent", agent.host, api_key_id=agent.api_key_id, jobs_cancelled=cancelled)
    return _view(session, agent)


def revoke(context: Context, command: RevokeAgent) -> AgentView:
    """Revoke the agent, then its key (two audited operations)."""
    view = revoke_agent(context, command)
    if view.api_key_id is not None:
        keys.revoke_key(context, RevokeKey.of(key=view.api_key_id))
    return view


# --- what an agent does ---------------------------------------------------------------


def _host_of(call: Call) -> str:
    host = call.actor.agent_host
    if host is None:
        raise Forbidden("only an agent key bound to a host may poll for jobs")
    return host


class Contact(Command):
    version: str | None = Field(default=None, max_length=32)


class AgentState(BaseModel):
    """What the door needs after a poll's contact: the service to beat for."""

    known: bool
    service_id: int | None
    revoked: bool


@operation("agent.contact", scope="agent")
def contact(call: Call, command: Contact) -> AgentState:
    """Record the poll (last contact, version); its heartbeat is the door's."""
    host = _host_of(call)
    agent = call.session.exec(select(Agent).where(Agent.host == host)).first()
    if agent is None:
        return AgentState(known=False, service_id=None, revoked=False)
    if agent.revoked_at is not None:
        return AgentState(known=True, service_id=None, revoked=True)
    agent.last_contact_at = datetime.now(UTC)
    if command.version is not None:
        agent.version = command.version
    call.session.add(agent)
    return AgentState(known=True, service_id=agent.service_id, revoked=False)


class TakeJob(Command):
    pass


class JobOrder(BaseModel):
    """A job as the agent receives it (the protocol, agent/src/job.rs)."""

    job_id: int
    script: str
    args: list[str]
    timeout_seconds: int
    env: dict[str, str]


def _arguments(call: Call, job: AgentJob) -> list[str]:
    if job.sealed_args is None:
        return list(job.args or [])
    key = call.settings.secrets_key_bytes
    if key is None:
        raise Conflict("this job's arguments are sealed and MEDIC_SECRETS_KEY is not set")
    return list(json.loads(unseal(key, sealed_args_name(job), job.sealed_args)))


def sealed_args_name(job: AgentJob) -> str:
    """What a job's sealed arguments are bound to: copied to another job, they fail."""
    return f"agent-job:{job.execution_id}:{job.position}"


@operation("agent.take_job", scope="agent", audit="agent.job_taken")
def take_job(call: Call, _command: TakeJob) -> JobOrder | None:
    """The host's oldest queued job still within its pickup time, now running; None
    when there is none. Jobs of finished executions or past their pickup time are
    settled on the way (the engine fails the step at its own deadline)."""
    host = _host_of(call)
    session = call.session
    now = datetime.now(UTC)
    agent = session.exec(select(Agent).where(Agent.host == host)).first()
    if agent is None or agent.revoked_at is not None:
        call.unchanged()
        return None
    candidates = session.exec(
        select(AgentJob)
        .where(AgentJob.host == host)
        .where(AgentJob.state == "queued")
        .order_by(col(AgentJob.queued_at), col(AgentJob.job_id))
        .limit(10)
        .with_for_update(skip_locked=True)
    ).all()
    for job in candidates:
        execution = session.get(Execution, job.execution_id)
        if execution is None or execution.state in FINAL_STATES:
            job.state, job.finished_at, job.message = "cancelled", now, "execution finished"
        elif now >= rules.pickup_deadline(job.queued_at):
            job.state, job.finished_at = "expired", now
            job.message = f"not taken within {rules.PICKUP_SECONDS}s"
        else:
            job.state, job.started_at = "running", now
            session.add(job)
            call.audit("agent_job", job.job_id, host=host, script=job.script)
            return JobOrder(
                job_id=job.job_id or 0,
                script=job.script,
                args=_arguments(call, job),
                timeout_seconds=job.timeout_seconds,
                env=job.env,
            )
        session.add(job)
    call.unchanged()
    return None


class ReportResult(Command):
    """What the agent reports for one job (agent/src/job.rs)."""

    job_id: int = Field(ge=1)
    status: Literal["ok", "failed", "timeout", "error", "skipped"]
    exit_code: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)
    duration_ms: int | None = Field(default=None, ge=0, le=2**31 - 1)
    output: str | None = Field(default=None, max_length=4 * rules.MAX_OUTPUT_CHARS)
    output_bytes: int | None = Field(default=None, ge=0)
    message: str | None = Field(default=None, max_length=4 * rules.MAX_MESSAGE_CHARS)
    reason: str | None = Field(default=None, max_length=64, description="why it was skipped")
    counters: dict[str, Any] | None = Field(default=None, description="the agent's counters")

    @field_validator("output", "message")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        return None if value is None else value.replace("\x00", "")

    @field_validator("counters")
    @classmethod
    def _small(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value)) > 64 * 1024:
            raise ValueError("at most 64 KiB of counters")
        return value

    def audit_target(self) -> tuple[str | None, object]:
        return "agent_job", self.job_id


@operation("agent.report", scope="agent", audit="agent.job_result")
def report(call: Call, command: ReportResult) -> None:
    host = _host_of(call)
    session = call.session
    job = session.exec(
        select(AgentJob).where(AgentJob.job_id == command.job_id).with_for_update()
    ).first()
    if job is None or job.host != host:
        raise NotFound(f"no job {command.job_id} for host {host!r}")
    if job.state != "running":
        raise Conflict(f"job {command.job_id} is {job.state}; its result is no longer taken")
    now = datetime.now(UTC)
    job.finished_at = now
    job.duration_ms = command.duration_ms
    job.message = rules.clip(command.message, rules.MAX_MESSAGE_CHARS)
    job.output = rules.clip(command.output, rules.MAX_OUTPUT_CHARS)
    agent = session.exec(select(Agent).where(Agent.host == host)).first()
    if agent is not None and command.counters is not None:
        agent.counters = command.counters
        session.add(agent)
    if command.status == "skipped":
        reason = rules.skip_reason(command.reason)
        job.state, job.skip_reason = "skipped", reason
        _skipped(call, job, agent, reason)
        _after_commit(call, lambda: AGENT_SCRIPT_SKIPPED.labels(job.script, reason).inc())
    else:
        job.state = "succeeded" if command.status == "ok" else "failed"
        job.exit_code = command.exit_code
        status = command.status
        call.audit(
            "agent_job",
            job.job_id,
            host=host,
            script=job.script,
            status=status,
            exit_code=command.exit_code,
        )
        _after_commit(call, lambda: AGENT_SCRIPT_EXECUTIONS.labels(job.script, status).inc())
    session.add(job)
    _wake(call, job.execution_id)


def _skipped(call: Call, job: AgentJob, agent: Agent | None, reason: str) -> None:
    """A refused script is audited and told to the team, beside the step's failure."""
    call.audit(
        "agent_job",
        job.job_id,
        as_action="agent.script_skipped",
        host=job.host,
        script=job.script,
        reason=reason,
        execution_id=job.execution_id,
    )
    execution = call.session.get(Execution, job.execution_id)
    service_id = execution.service_id if execution is not None else None
    if service_id is None and agent is not None:
        service_id = agent.service_id
    call.session.add(
        Notification(
            kind="agent.script_skipped",
            service_id=service_id,
            alert_id=execution.alert_id if execution is not None else None,
            details={
                "host": job.host,
                "script": job.script,
                "reason": reason,
                "execution_id": job.execution_id,
                "playbook": execution.playbook_name if execution is not None else None,
            },
        )
    )
    call.db.wake_scheduler(call.session)


def _wake(call: Call, execution_id: int) -> None:
    """The waiting execution looks at its job now, not at its deadline."""
    execution = call.session.get(Execution, execution_id)
    if execution is None or execution.state in FINAL_STATES:
        return
    execution.wake_at, execution.enqueued_at = datetime.now(UTC), None
    call.session.add(execution)
    call.db.wake_scheduler(call.session)


def _after_commit(call: Call, action: Any) -> None:
    event.listen(call.session, "after_commit", lambda _session: action(), once=True)
