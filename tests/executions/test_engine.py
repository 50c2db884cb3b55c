"""The seed's restart-worker playbook from start to recovery: the webhook step gets
substituted variables and a decrypted secret, the wait waits, the condition sees the
heartbeat; every step is persisted and audited, and a restart mid-wait resumes
without re-running what was done."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import AuditEntry
from medic.process import MedicProcess
from tests.fakes.receiver import Receiver
from tests.playbook_runs import Runner
from tests.support import Clock

TOKEN = "restart-token-4f7a9c"


def restart_worker(receiver: Receiver, approval: str = "none", on_failure: str = "escalate") -> str:
    return f"""
name: restart-worker
description: Restart the worker service and verify recovery
trigger:
  service_pattern: "worker-*"
  consecutive_failures: 3
approval: {approval}
steps:
  - name: restart-service
    type: webhook
    url: "{receiver.url}/restart?service=${{SERVICE_NAME}}"
    method: POST
    headers:
      Authorization: "Bearer ${{secrets.RESTART_TOKEN}}"
    body:
      service: "${{SERVICE_NAME}}"
      execution: "${{EXECUTION_ID}}"
  - name: wait-for-recovery
    type: wait
    duration: 30s
  - name: verify-heartbeat
    type: condition
    check: heartbeat_received
    timeout: 60s
    on_failure: {on_failure}
"""


def _set_secret(client: TestClient, headers: dict[str, str]) -> None:
    response = client.put("/v2/secrets/RESTART_TOKEN", json={"value": TOKEN}, headers=headers)
    assert response.status_code == 201


@pytest.fixture
def start(
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    webhook_receiver: Receiver,
) -> Callable[[], int]:
    """worker-1 registered, RESTART_TOKEN set, restart-worker applied: start it."""
    register("worker-1", service_name="worker-1")
    _set_secret(client, admin_headers)
    apply_playbook(restart_worker(webhook_receiver))
    return lambda: execute("restart-worker", service="worker-1")["results"]["execution_id"]


def test_restart_worker_runs_from_start_to_recovery(
    start: Callable[[], int],
    client: TestClient,
    write_headers: dict[str, str],
    runner: Runner,
    webhook_receiver: Receiver,
    clock: Clock,
    medic: MedicProcess,
) -> None:
    execution_id = start()
    assert runner.execution(execution_id).state == "running"

    execution = runner.run(execution_id)
    (call,) = webhook_receiver.requests
    assert call.path == "/restart?service=worker-1"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.json == {"service": "worker-1", "execution": str(execution_id)}
    assert execution.state == "waiting" and execution.next_step == 1

    clock.advance(seconds=30)
    execution = runner.run(execution_id)
    assert execution.state == "waiting" and execution.next_step == 2  # the condition polls

    beat = {"heartbeat_name": "worker-1", "status": "UP"}
    assert client.post("/v2/heartbeats", json=beat, headers=write_headers).status_code == 201
    clock.advance(seconds=5)
    execution = runner.run(execution_id)
    assert execution.state == "completed" and execution.finished_at is not None
    assert [(s.name, s.state) for s in runner.steps(execution_id)] == [
        ("restart-service", "succeeded"),
        ("wait-for-recovery", "succeeded"),
        ("verify-heartbeat", "succeeded"),
    ]
    assert len(webhook_receiver.requests) == 1

    view = client.get(f"/v2/executions/{execution_id}", headers=write_headers).json()["results"]
    assert view["state"] == "completed" and len(view["steps"]) == 3
    with medic.db.session() as session:
        actions = [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.audit_id))]
        everything = " ".join(str(e.details) for e in session.exec(select(AuditEntry)))
    assert actions[-5:] == [
        "execution.start",
        "execution.step.webhook",
        "execution.step.wait",
        "execution.step.condition",
        "execution.completed",
    ]
    assert TOKEN not in everything and TOKEN not in str(view)


def test_a_restart_in_the_middle_of_a_wait_resumes_without_rerunning_steps(
    start: Callable[[], int],
    medic: MedicProcess,
    webhook_receiver: Receiver,
    clock: Clock,
) -> None:
    execution_id = start()
    Runner(medic).run(execution_id)  # the webhook ran; the wait began; then the process died

    clock.advance(seconds=45)
    after_restart = Runner(medic)  # nothing in memory survives, only the database
    execution = after_restart.run(execution_id)
    assert execution.next_step == 2 and execution.state == "waiting"
    assert len(webhook_receiver.requests) == 1, "a finished step never runs again"


def test_no_heartbeat_within_the_condition_timeout_fails_and_escalates(
    start: Callable[[], int],
    runner: Runner,
    webhook_receiver: Receiver,
    clock: Clock,
) -> None:
    execution_id = start()
    runner.run(execution_id)
    clock.advance(seconds=30)
    runner.run(execution_id)
    clock.advance(seconds=61)
    execution = runner.run(execution_id)
    assert execution.state == "failed"
    assert "no heartbeat within 60s" in (execution.error or "")
    assert "escalated" in (execution.error or "")


def test_a_failing_webhook_step_fails_the_execution(
    start: Callable[[], int],
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    webhook_receiver.answer(500)
    execution_id = start()
    execution = runner.run(execution_id)
    assert execution.state == "failed" and "restart-service" in (execution.error or "")
    (step,) = runner.steps(execution_id)
    assert step.state == "failed" and step.status_code == 500


def test_the_circuit_breaker_refuses_a_fourth_run_within_the_hour(
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    webhook_receiver: Receiver,
    clock: Clock,
) -> None:
    register("worker-1")
    apply_playbook(restart_worker(webhook_receiver))
    for _ in range(3):
        execute("restart-worker", service="worker-1")
    refused = execute("restart-worker", expect=409, service="worker-1")
    assert "circuit breaker" in refused["message"]
    audit = client.get(
        "/v2/audit", params={"action": "execution.refused"}, headers=admin_headers
    ).json()["results"]
    assert audit["total"] == 1 and audit["items"][0]["outcome"] == "refused"
    clock.advance(minutes=61)
    execute("restart-worker", service="worker-1")


def test_approval_timeout_proceeds_and_required_expires(
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    webhook_receiver: Receiver,
    clock: Clock,
) -> None:
    register("worker-1")
    _set_secret(client, admin_headers)
    apply_playbook(restart_worker(webhook_receiver, approval="timeout:1m"))
    waiting = execute("restart-worker", service="worker-1")
    assert waiting["message"] == "execution waits for a human approval"
    execution_id = waiting["results"]["execution_id"]
    assert runner.run(execution_id).state == "pending_approval"
    assert webhook_receiver.requests == []
    clock.advance(seconds=61)
    assert runner.run(execution_id).state == "waiting"
    assert len(webhook_receiver.requests) == 1

    apply_playbook(restart_worker(webhook_receiver, approval="required"))
    expiring = execute("restart-worker", service="worker-1")["results"]["execution_id"]
    clock.advance(minutes=61)
    execution = runner.run(expiring)
    assert execution.state == "cancelled" and "expired" in (execution.error or "")


def test_an_operator_runs_a_playbook_and_follows_it_from_the_cli(
    medic_cli: Any,
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    register("worker-1")
    _set_secret(client, admin_headers)
    apply_playbook(restart_worker(webhook_receiver))
    out = medic_cli("playbook", "run", "restart-worker", "--service", "worker-1").output
    assert "execution started" in out and "restart-worker v1 is running" in out
    runner.run(1)
    shown = medic_cli("playbook", "execution", "1").output
    assert "is waiting" in shown and "1. restart-service: succeeded POST" in shown
    assert "404" in medic_cli("playbook", "run", "nope", code=1).output


def test_an_admin_approves_or_declines_from_the_cli_but_never_their_own_request(
    medic_cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    make_key: Callable[..., str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    register("worker-1")
    apply_playbook(restart_worker(webhook_receiver, approval="required"))
    for _ in range(2):
        medic_cli("playbook", "run", "restart-worker", "--service", "worker-1")
    refused = medic_cli("playbook", "approve", "1", code=1).output
    assert "403: the requester of an execution cannot approve it" in refused
    monkeypatch.setenv("MEDIC_API_KEY", make_key("admin", name="on-call-lead"))
    approved = medic_cli("playbook", "approve", "1").output
    assert approved.startswith("approved\nexecution 1: restart-worker v1 is running")
    declined = medic_cli("playbook", "decline", "2").output
    assert declined.startswith("declined\nexecution 2: restart-worker v1 is cancelled")
    again = medic_cli("playbook", "approve", "2", code=1).output
    assert "409" in again
    assert runner.execution(2).decided_by == "on-call-lead"


def test_a_secret_that_is_not_set_fails_the_step_and_says_which(
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    register("worker-1")
    apply_playbook(restart_worker(webhook_receiver))
    execution_id = execute("restart-worker", service="worker-1")["results"]["execution_id"]
    execution = runner.run(execution_id)
    assert execution.state == "failed" and "RESTART_TOKEN" in (execution.error or "")
    assert webhook_receiver.requests == []
