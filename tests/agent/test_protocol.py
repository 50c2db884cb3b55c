"""The agent's protocol through the real API (SRE-21): an `agent` step becomes a job for
its host, the host's agent takes it on a poll and reports; a script the host refuses is
skipped, audited, counted and told to the team. The agent process itself is tested in
test_agent_process.py; here a fake agent speaks the same HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import AgentJob, AuditEntry, Execution, Notification, Service
from medic.process import MedicProcess
from tests.agent.conftest import FakeAgent
from tests.playbook_runs import Runner

PLAYBOOK = """
name: restart-on-host
approval: none
steps:
  - name: restart
    type: agent
    host: {host}
    script: {script}
    args: {args}
    timeout: 30s
"""


def start(
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    host: str = "web-1",
    script: str = "restart-app",
    args: str = '["--service=${HEARTBEAT_NAME}", "${HEARTBEAT_NAME}"]',
) -> int:
    apply_playbook(PLAYBOOK.format(host=host, script=script, args=args))
    execution_id = int(execute("restart-on-host", service="worker-1")["results"]["execution_id"])
    execution = runner.run(execution_id)
    assert execution.state == "waiting"
    return execution_id


def test_enrolling_a_host_registers_its_service_and_its_polls_keep_it_alive(
    client: TestClient, enroll: Callable[..., FakeAgent], read_headers: dict[str, str]
) -> None:
    agent = enroll("web-1", alert_interval=1)
    listed = client.get("/v2/agents", headers=read_headers).json()["results"]["items"]
    assert [(a["host"], a["service"], a["last_contact_at"]) for a in listed] == [
        ("web-1", "agent-web-1", None)
    ]
    assert agent.poll() is None
    seen = client.get("/v2/agents/web-1", headers=read_headers).json()["results"]
    assert seen["last_contact_at"] is not None and seen["version"] == "0.1.0"
    assert seen["service_state"] == "up"
    [service] = client.get("/service/agent-web-1", headers=read_headers).json()["results"]
    assert service["alert_interval"] == 1


def test_an_agent_step_runs_on_its_host_and_records_the_result(
    register: Callable[..., dict[str, Any]],
    enroll: Callable[..., FakeAgent],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> None:
    register("worker-1")
    agent = enroll("web-1")
    other = enroll("db-1")
    execution_id = start(apply_playbook, execute, runner)

    assert other.poll() is None  # another host never sees this job
    job = agent.poll()
    assert job is not None
    assert job["script"] == "restart-app"
    # Values are argv, never options: `--` before the first argument that is a variable.
    assert job["args"] == ["--service=worker-1", "--", "worker-1"]
    assert job["env"]["MEDIC_EXECUTION_ID"] == str(execution_id)
    assert job["env"]["MEDIC_SERVICE_NAME"] == "backups"
    assert agent.poll() is None  # taken once

    agent.report(job["job_id"], status="ok", exit_code=0, duration_ms=120, output="restarted\n")
    execution = runner.run(execution_id)
    assert execution.state == "completed"
    [step] = runner.steps(execution_id)
    assert (step.step_type, step.state, step.status_code) == ("agent", "succeeded", 0)
    assert step.output == "restarted"
    assert "agent web-1: script 'restart-app' succeeded in 0.1s" in (step.summary or "")
    agent.report(job["job_id"], expect=409, status="ok", exit_code=0)


def test_a_failing_script_fails_the_step_with_its_exit_status(
    register: Callable[..., dict[str, Any]],
    enroll: Callable[..., FakeAgent],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> None:
    register("worker-1")
    agent = enroll("web-1")
    execution_id = start(apply_playbook, execute, runner)
    job = agent.poll()
    assert job is not None
    agent.report(job["job_id"], status="failed", exit_code=3, output="no such unit")
    execution = runner.run(execution_id)
    assert execution.state == "failed"
    assert "failed with exit status 3" in (execution.error or "")
    assert runner.steps(execution_id)[0].status_code == 3


def test_a_script_the_host_refuses_is_skipped_audited_counted_and_told(
    client: TestClient,
    medic: MedicProcess,
    register: Callable[..., dict[str, Any]],
    enroll: Callable[..., FakeAgent],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> None:
    register("worker-1")
    agent = enroll("web-1")
    execution_id = start(apply_playbook, execute, runner, script="wipe-disk")
    job = agent.poll()
    assert job is not None
    agent.report(
        job["job_id"],
        status="skipped",
        reason="not_registered",
        message='script "wipe-disk" is not allowed on this host (not_registered)',
        counters={"medic_agent_script_skipped_total": [{"script": "wipe-disk", "count": 1}]},
    )
    execution = runner.run(execution_id)
    assert execution.state == "failed"
    assert "refused by the agent: not_registered" in (execution.error or "")

    with medic.db.session() as session:
        skipped = session.exec(
            select(AuditEntry).where(AuditEntry.action == "agent.script_skipped")
        ).all()
        told = session.exec(
            select(Notification).where(Notification.kind == "agent.script_skipped")
        ).all()
        worker = session.exec(select(Service).where(Service.name_key == "worker-1")).one()
    assert [(e.details["host"], e.details["script"], e.details["reason"]) for e in skipped] == [
        ("web-1", "wipe-disk", "not_registered")
    ]
    assert [(n.service_id, n.details["reason"]) for n in told] == [
        (worker.service_id, "not_registered")
    ]
    metrics = client.get("/metrics").text
    assert 'medic_agent_script_skipped_total{reason="not_registered",script="wipe-disk"}' in metrics
    seen = client.get("/v2/agents/web-1", headers=agent.headers)
    assert seen.status_code == 403  # an agent key reads nothing, not even itself


def test_an_unknown_skip_reason_is_counted_as_other(
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    enroll: Callable[..., FakeAgent],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> None:
    register("worker-1")
    agent = enroll("web-1")
    start(apply_playbook, execute, runner, script="odd")
    job = agent.poll()
    assert job is not None
    agent.report(job["job_id"], status="skipped", reason='x"}\n{evil="1')
    assert (
        'medic_agent_script_skipped_total{reason="other",script="odd"}'
        in client.get("/metrics").text
    )


def test_secret_arguments_are_sealed_at_rest_and_masked_in_the_output(
    client: TestClient,
    medic: MedicProcess,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    enroll: Callable[..., FakeAgent],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> None:
    secret = "s3cr3t-t0ken-value"
    response = client.put("/v2/secrets/DEPLOY_TOKEN", json={"value": secret}, headers=admin_headers)
    assert response.status_code == 201, response.text
    register("worker-1")
    agent = enroll("web-1")
    execution_id = start(
        apply_playbook, execute, runner, args='["--token=${secrets.DEPLOY_TOKEN}"]'
    )
    with medic.db.session() as session:
        stored = session.exec(select(AgentJob)).one()
    assert stored.args is None and stored.sealed_args is not None
    assert secret.encode() not in stored.sealed_args

    job = agent.poll()
    assert job is not None and job["args"] == [f"--token={secret}"]
    agent.report(job["job_id"], status="ok", exit_code=0, output=f"used {secret}\n")
    runner.run(execution_id)
    [step] = runner.steps(execution_id)
    assert secret not in (step.output or "") and "used" in (step.output or "")
    with medic.db.session() as session:
        stored = session.exec(select(AgentJob)).one()
    assert secret not in (stored.output or "")


def test_a_step_run_again_finds_its_job_instead_of_sending_another(
    medic: MedicProcess,
    register: Callable[..., dict[str, Any]],
    enroll: Callable[..., FakeAgent],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> None:
    register("worker-1")
    agent = enroll("web-1")
    execution_id = start(apply_playbook, execute, runner)
    with medic.db.session() as session:  # as if its lease ran out after a crash
        execution = session.get(Execution, execution_id)
        assert execution is not None
        execution.wake_at = datetime.now(UTC)
        session.add(execution)
    assert runner.run(execution_id).state == "waiting"
    with medic.db.session() as session:
        assert len(session.exec(select(AgentJob)).all()) == 1
    assert agent.poll() is not None


def test_a_step_for_a_host_without_an_agent_fails_at_once(
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> None:
    register("worker-1")
    apply_playbook(PLAYBOOK.format(host="nowhere", script="x", args="[]"))
    execution_id = int(execute("restart-on-host", service="worker-1")["results"]["execution_id"])
    execution = runner.run(execution_id)
    assert execution.state == "failed"
    assert "no agent is enrolled for this host" in (execution.error or "")


def test_revoking_an_agent_stops_its_key_and_cancels_its_queued_jobs(
    client: TestClient,
    medic: MedicProcess,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    enroll: Callable[..., FakeAgent],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> None:
    register("worker-1")
    agent = enroll("web-1")
    start(apply_playbook, execute, runner)
    response = client.delete("/v2/agents/web-1", headers=admin_headers)
    assert response.status_code == 200 and response.json()["results"]["revoked_at"]
    assert client.get("/v2/agent/jobs?wait=0", headers=agent.headers).status_code == 401
    with medic.db.session() as session:
        assert [job.state for job in session.exec(select(AgentJob)).all()] == ["cancelled"]
    again = client.post("/v2/agents", json={"host": "web-1"}, headers=admin_headers)
    assert again.status_code == 201  # a revoked host may be enrolled anew, with a new key


def test_a_key_made_with_the_agent_scope_and_a_host_enrolls_on_first_poll(
    client: TestClient, make_key: Callable[..., str], read_headers: dict[str, str]
) -> None:
    agent = FakeAgent(client, "build-7", make_key("agent", host="build-7"))
    assert agent.poll() is None
    seen = client.get("/v2/agents/build-7", headers=read_headers).json()["results"]
    assert seen["service"] == "agent-build-7" and seen["last_contact_at"] is not None
