"""Run one `agent` step: hand the script to the host's medic-agent, wait for its result.

The first time the step runs it queues a job for the host (the arguments substituted
as for a script step, `--` rule included; sealed under MEDIC_SECRETS_KEY when they
carry a secret) and the execution waits. The agent takes the job on its next poll and
reports; the report wakes the execution (medic.ops.agents), which reads the result
here. Each step of an execution has one job (unique in the database), so a step run
again after a crash finds its job and never sends a second one.

Medic stops waiting at the job's deadline: `PICKUP_SECONDS` for the agent to take it,
then the step's timeout plus a margin for the report (medic.core.agents). The result
becomes the step's like a script's: exit status 0 is success, the output tail is kept
with every secret masked (the engine seals it; the job keeps only the masked copy).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from medic.config import Settings
from medic.core import agents as rules
from medic.core.playbook_definition import AgentStep
from medic.core.sealing import seal as seal_value
from medic.db import Database
from medic.models import Agent, AgentJob
from medic.ops.agents import sealed_args_name
from medic.playbooks.context import StepContext, StepResult
from medic.playbooks.scripts import script_arguments
from medic.playbooks.substitute import SubstitutionError, seal


def run_agent_step(
    db: Database,
    settings: Settings,
    step: AgentStep,
    context: StepContext,
    position: int,
    now: datetime,
) -> StepResult | datetime:
    """The step's result, or when to look again (the job's deadline; its report wakes
    the execution sooner)."""
    label = f"agent {step.host}: script {step.script!r}"
    with db.session() as session:
        job = _job(session, context.execution_id, position)
        if job is None:
            return _queue(session, settings, step, context, position, now, label)
        if job.state in ("queued", "running"):
            deadline = rules.job_deadline(
                job.state, job.queued_at, job.started_at, job.timeout_seconds
            )
            if deadline is not None and now < deadline:
                return deadline
            waited = "take" if job.state == "queued" else "report on"
            job.state, job.finished_at = "expired", now
            job.message = f"the agent did not {waited} the job in time"
            session.add(job)
            if waited == "take":
                return StepResult(
                    False,
                    f"{label}: the agent did not take the job within {rules.PICKUP_SECONDS}s"
                    f" (is medic-agent running on {step.host}?)",
                )
            return StepResult(False, f"{label}: no result within {step.timeout_seconds}s")
        result = _result(job, label)
        if job.output is not None:
            job.output = seal(job.output, context.secrets)
            session.add(job)
        return result


def _job(session: Session, execution_id: int, position: int) -> AgentJob | None:
    return session.exec(
        select(AgentJob)
        .where(AgentJob.execution_id == execution_id)
        .where(AgentJob.position == position)
        .with_for_update()
    ).first()


def _queue(
    session: Session,
    settings: Settings,
    step: AgentStep,
    context: StepContext,
    position: int,
    now: datetime,
    label: str,
) -> StepResult | datetime:
    agent = session.exec(select(Agent).where(Agent.host == step.host)).first()
    if agent is None:
        return StepResult(
            False, f"{label}: no agent is enrolled for this host (medic agent add {step.host})"
        )
    if agent.revoked_at is not None:
        return StepResult(False, f"{label}: the host's agent is revoked")
    try:
        args = script_arguments(step.args, context)
    except SubstitutionError as exc:
        return StepResult(False, f"{label}: {exc}")
    job = AgentJob(
        host=step.host,
        execution_id=context.execution_id,
        position=position,
        script=step.script,
        timeout_seconds=step.timeout_seconds,
        env=_environment(context),
        queued_at=now,
    )
    if any("${secrets." in template for template in step.args):
        key = settings.secrets_key_bytes
        if key is None:
            return StepResult(False, f"{label}: secrets are off (MEDIC_SECRETS_KEY)")
        job.sealed_args = seal_value(key, sealed_args_name(job), json.dumps(args))
    else:
        job.args = args
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:
        pass  # another worker queued this step's job first: wait for it the same way
    return rules.pickup_deadline(now)


def _environment(context: StepContext) -> dict[str, str]:
    """What a script on the host learns about its run, as for a script step."""
    env = {
        "MEDIC_SERVICE_NAME": context.service_name or "",
        "MEDIC_HEARTBEAT_NAME": context.heartbeat_name or "",
        "MEDIC_ALERT_ID": "" if context.alert_id is None else str(context.alert_id),
        "MEDIC_EXECUTION_ID": str(context.execution_id),
    }
    if context.idempotency_key:
        env["MEDIC_IDEMPOTENCY_KEY"] = context.idempotency_key
    return env


def _result(job: AgentJob, label: str) -> StepResult:
    if job.state == "skipped":
        return StepResult(
            False,
            f"{label} was refused by the agent: {job.skip_reason}"
            " (the host's allow-list, /etc/medic-agent/scripts.d, does not have it)",
        )
    if job.state == "succeeded":
        took = "" if job.duration_ms is None else f" in {job.duration_ms / 1000:.1f}s"
        return StepResult(True, f"{label} succeeded{took}", job.exit_code, job.output)
    if job.state == "failed":
        how = (
            f"failed with exit status {job.exit_code}"
            if job.exit_code is not None
            else f"failed: {job.message or 'no exit status'}"
        )
        return StepResult(False, f"{label} {how}", job.exit_code, job.output)
    return StepResult(False, f"{label}: job {job.state} ({job.message or 'no result'})")
