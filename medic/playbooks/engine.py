"""Running an execution one step at a time, restart-proof (SRE-23).

Each call to `advance` claims the execution (a short transaction), runs the next step
outside any transaction, and records the outcome with the next state (another short
transaction). The claim is a lease: `wake_at` moves past the step's timeout, so a
duplicate message finds nothing due; if the process dies mid-step, the lease runs out
and the scheduler hands the execution to a worker again. A step recorded as succeeded
is never run again; the one in flight when a process died runs once more.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from medic.config import Settings
from medic.core import executions as rules
from medic.core.approval_outcomes import EXPIRED_ERROR
from medic.core.playbook_definition import (
    AgentStep,
    ConditionStep,
    ScriptStep,
    Step,
    WaitStep,
    WebhookStep,
    variables_in,
)
from medic.core.sealing import SealBroken
from medic.core.statuses import PROOF_OF_LIFE
from medic.core.step_keys import step_key
from medic.db import Database
from medic.metrics import PLAYBOOK_EXECUTIONS, PLAYBOOK_STEP_DURATION
from medic.models import (
    Execution,
    ExecutionStep,
    HeartbeatEvent,
    Notification,
    Service,
)
from medic.ops import audit
from medic.ops.actor import SYSTEM
from medic.ops.approval_requests import close_request
from medic.ops.errors import MedicError
from medic.ops.playbooks import pinned_definition
from medic.ops.secrets import reveal
from medic.playbooks.agent_step import run_agent_step
from medic.playbooks.context import StepContext, StepResult
from medic.playbooks.scripts import run_script_step
from medic.playbooks.substitute import seal
from medic.playbooks.webhook_step import run_webhook_step

log = logging.getLogger(__name__)

EARLY_TOLERANCE = timedelta(seconds=2)
CONDITION_POLL = timedelta(seconds=5)
LEASE_MARGIN = timedelta(seconds=60)
# ExecutionStep.summary's column size.
SUMMARY_LENGTH = 1000


@dataclass(frozen=True)
class Next:
    """When the caller should advance this execution again (None: nothing to do)."""

    in_seconds: float | None = None


@dataclass(frozen=True)
class _Claim:
    execution_id: int
    position: int
    step: Step
    step_started_at: datetime
    service_id: int | None
    context: StepContext


@dataclass(frozen=True)
class _Later:
    """The step is not done yet: look again at `wake_at` (a wait, a condition)."""

    wake_at: datetime


def advance(db: Database, settings: Settings, execution_id: int) -> Next:
    claim = _claim(db, settings, execution_id, datetime.now(UTC))
    if claim is None:
        return Next()
    started = time.perf_counter()
    try:
        claim = _with_secrets(db, settings, claim)
    except (MedicError, SealBroken) as exc:
        # A secret not set (or sealed under another key) fails the step, not the worker.
        outcome: StepResult | _Later = StepResult(False, str(exc))
    else:
        outcome = _run(db, settings, claim, datetime.now(UTC))
    if not isinstance(outcome, _Later):
        PLAYBOOK_STEP_DURATION.labels(claim.step.type).observe(time.perf_counter() - started)
    return _record(db, claim, outcome, datetime.now(UTC))


def _claim(db: Database, settings: Settings, execution_id: int, now: datetime) -> _Claim | None:
    with db.session() as session:
        execution = session.exec(
            select(Execution).where(Execution.execution_id == execution_id).with_for_update()
        ).first()
        if execution is None or execution.state in rules.FINAL_STATES:
            return None
        if execution.wake_at is not None and execution.wake_at > now + EARLY_TOLERANCE:
            return None
        execution.enqueued_at = None
        if execution.state == "pending_approval" and not _approval_ran_out(session, execution, now):
            session.add(execution)
            return None
        definition = pinned_definition(session, execution)
        if execution.next_step >= len(definition.steps):
            _finish(session, execution, "completed", now)
            return None
        step = definition.steps[execution.next_step]
        record = session.exec(
            select(ExecutionStep)
            .where(ExecutionStep.execution_id == execution_id)
            .where(ExecutionStep.position == execution.next_step)
        ).first()
        if record is None:
            record = ExecutionStep(
                execution_id=execution_id,
                position=execution.next_step,
                name=step.name,
                step_type=step.type,
                started_at=now,
            )
        record.attempts += 1
        session.add(record)
        execution.state = "running"
        execution.step_started_at = record.started_at
        timeout = getattr(step, "timeout_seconds", 0)
        execution.wake_at = now + timedelta(seconds=timeout) + LEASE_MARGIN
        execution.updated_at = now
        session.add(execution)
        service = session.get(Service, execution.service_id) if execution.service_id else None
        claim = _Claim(
            execution_id=execution_id,
            position=execution.next_step,
            step=step,
            step_started_at=record.started_at,
            service_id=execution.service_id,
            context=StepContext(
                execution_id=execution_id,
                service_name=(service.service_name or service.heartbeat_name) if service else None,
                heartbeat_name=service.heartbeat_name if service else None,
                alert_id=execution.alert_id,
                # The same on every attempt of this step (a re-run after a crash).
                idempotency_key=step_key(execution_id, execution.created_at, execution.next_step),
            ),
        )
    return claim


def _with_secrets(db: Database, settings: Settings, claim: _Claim) -> _Claim:
    names = {
        name.removeprefix("secrets.")
        for name in _variables(claim.step)
        if name.startswith("secrets.")
    }
    if not names:
        return claim
    return replace(claim, context=replace(claim.context, secrets=reveal(db, settings, names)))


def _approval_ran_out(session: Session, execution: Execution, now: datetime) -> bool:
    """A pending approval past its deadline: `timeout:Nm` runs, `required` expires."""
    if execution.approval_deadline is None or now < execution.approval_deadline:
        execution.wake_at = execution.approval_deadline
        return False
    if execution.approval_on_deadline == "run":
        close_request(session, execution, "proceeded", now)
        audit.record(
            session,
            SYSTEM,
            "execution.approval_timeout",
            "execution",
            execution.execution_id,
            outcome="proceeded",
        )
        return True
    _finish(session, execution, "cancelled", now, error=EXPIRED_ERROR)
    close_request(session, execution, "expired", now)
    audit.record(
        session,
        SYSTEM,
        "execution.approval_expired",
        "execution",
        execution.execution_id,
        outcome="cancelled",
    )
    return False


def _variables(step: Step) -> set[str]:
    text = json.dumps(
        [getattr(step, name, None) for name in ("url", "headers", "body", "args")], default=str
    )
    return set(variables_in(text))


def _run(db: Database, settings: Settings, claim: _Claim, now: datetime) -> StepResult | _Later:
    step = claim.step
    try:
        if isinstance(step, WebhookStep):
            return run_webhook_step(step, claim.context, settings)
        if isinstance(step, ScriptStep):
            return run_script_step(step, claim.context, settings)
        if isinstance(step, AgentStep):
            waited = run_agent_step(db, settings, step, claim.context, claim.position, now)
            return waited if isinstance(waited, StepResult) else _Later(waited)
        if isinstance(step, WaitStep):
            end = claim.step_started_at + timedelta(seconds=step.duration_seconds)
            if now >= end:
                return StepResult(True, f"waited {step.duration_seconds}s")
            return _Later(end)
        if isinstance(step, ConditionStep):
            return _check_condition(db, claim, step, now)
    except Exception as exc:  # a runner bug must not leave the execution hanging
        # The traceback may quote a URL or a header: it is logged sealed, like any step text.
        log.error(
            "step %s of execution %s failed:\n%s",
            step.name,
            claim.execution_id,
            seal(traceback.format_exc(), claim.context.secrets),
        )
        return StepResult(False, f"internal error: {type(exc).__name__}")
    return StepResult(False, f"unknown step type {step.type!r}")


def _check_condition(
    db: Database, claim: _Claim, step: ConditionStep, now: datetime
) -> StepResult | _Later:
    """heartbeat_received: a proof of life from the service since the step started."""
    if claim.service_id is None:
        return StepResult(False, "heartbeat_received needs a service; this execution has none")
    with db.session() as session:
        beat = session.exec(
            select(HeartbeatEvent.time)
            .where(HeartbeatEvent.service_id == claim.service_id)
            .where(col(HeartbeatEvent.time) > claim.step_started_at)
            .where(col(HeartbeatEvent.status).in_(sorted(PROOF_OF_LIFE)))
            .limit(1)
        ).first()
    if beat is not None:
        return StepResult(True, f"heartbeat received at {beat.isoformat()}")
    deadline = claim.step_started_at + timedelta(seconds=step.timeout_seconds)
    if now >= deadline:
        return StepResult(False, f"no heartbeat within {step.timeout_seconds}s")
    return _Later(min(deadline, now + CONDITION_POLL))


def _record(db: Database, claim: _Claim, outcome: StepResult | _Later, now: datetime) -> Next:
    if not isinstance(outcome, _Later):
        outcome = _sealed(outcome, claim.context)
    with db.session() as session:
        execution = session.exec(
            select(Execution).where(Execution.execution_id == claim.execution_id).with_for_update()
        ).one()
        if execution.state in rules.FINAL_STATES:
            return Next()  # cancelled while the step ran
        if isinstance(outcome, _Later):
            execution.state = rules.move(execution.state, "waiting")
            execution.wake_at = outcome.wake_at
            session.add(execution)
            return Next(max(0.0, (outcome.wake_at - now).total_seconds()))
        record = session.exec(
            select(ExecutionStep)
            .where(ExecutionStep.execution_id == claim.execution_id)
            .where(ExecutionStep.position == claim.position)
        ).one()
        record.state = "succeeded" if outcome.ok else "failed"
        record.finished_at = now
        record.summary = outcome.summary
        record.status_code = outcome.status_code
        record.output = outcome.output
        session.add(record)
        audit.record(
            session,
            SYSTEM,
            f"execution.step.{claim.step.type}",
            "execution",
            claim.execution_id,
            outcome="success" if outcome.ok else "failure",
            step=claim.step.name,
            summary=record.summary,
        )
        on_failure = claim.step.on_failure if isinstance(claim.step, ConditionStep) else "fail"
        if not outcome.ok and on_failure != "continue":
            error = f"step {claim.step.name!r} failed: {outcome.summary}"
            if on_failure == "escalate":
                error += " (escalated to a human)"
            _finish(session, execution, "failed", now, error=error)
            # The team hears of it; an escalation also pages (its own PagerDuty incident).
            session.add(
                Notification(
                    kind="execution.escalated" if on_failure == "escalate" else "execution.failed",
                    service_id=execution.service_id,
                    alert_id=execution.alert_id,
                    created_at=now,
                    details={
                        "execution_id": execution.execution_id,
                        "playbook": execution.playbook_name,
                        "step": claim.step.name,
                    },
                )
            )
            return Next()
        execution.next_step += 1
        execution.wake_at = now
        execution.updated_at = now
        execution.state = (
            rules.move(execution.state, "running") if execution.state != "running" else "running"
        )
        session.add(execution)
        return Next(0)


def _sealed(outcome: StepResult, context: StepContext) -> StepResult:
    """The one place a step's text leaves the runner: its summary and output, as stored
    (step, audit log), shown (API, MCP) and sent (the execution's error in Slack and
    PagerDuty), with every secret masked before anything is cut to size."""
    output = None if outcome.output is None else seal(outcome.output, context.secrets)
    return replace(
        outcome, summary=seal(outcome.summary, context.secrets, SUMMARY_LENGTH), output=output
    )


def _finish(
    session: Session, execution: Execution, state: str, now: datetime, error: str | None = None
) -> None:
    execution.state = rules.move(execution.state, state)
    execution.finished_at = execution.updated_at = now
    execution.wake_at = None
    execution.error = error
    session.add(execution)
    audit.record(
        session,
        SYSTEM,
        f"execution.{state}",
        "execution",
        execution.execution_id,
        outcome="success" if state == "completed" else "failure",
        playbook=execution.playbook_name,
        version=execution.version,
        error=error,
    )
    PLAYBOOK_EXECUTIONS.labels(execution.playbook_name, state).inc()
