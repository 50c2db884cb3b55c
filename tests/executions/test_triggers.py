"""Alerts start playbooks: a trigger matching a down service runs once it has missed
`consecutive_failures` deadlines, once per alert, however many schedulers run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import AuditEntry, Execution, Notification
from medic.process import MedicProcess
from tests.fakes.receiver import Receiver
from tests.playbook_runs import Runner
from tests.support import Clock, RecordingScheduler

PLAYBOOK = """
name: restart-worker
trigger:
  service_pattern: "worker-*"
  consecutive_failures: 3
approval: none
steps:
  - name: restart
    type: webhook
    url: "{url}/restart"
    body:
      service: "${{HEARTBEAT_NAME}}"
"""


def _executions(medic: MedicProcess) -> list[Execution]:
    with medic.db.session() as session:
        return list(session.exec(select(Execution)).all())


def test_a_matching_service_down_for_three_deadlines_starts_the_playbook_once(
    client: TestClient,
    write_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    scheduler: RecordingScheduler,
    medic: MedicProcess,
    runner: Runner,
    clock: Clock,
    webhook_receiver: Receiver,
) -> None:
    apply_playbook(PLAYBOOK.format(url=webhook_receiver.url))
    for name in ("worker-1", "db-1"):
        register(name, alert_interval=1)
        beat = {"heartbeat_name": name, "status": "UP"}
        assert client.post("/v2/heartbeats", json=beat, headers=write_headers).status_code == 201
    other = RecordingScheduler(medic.db, medic.settings)

    clock.advance(seconds=61)
    scheduler.run_pass()  # down: 1 missed deadline, alert opened
    clock.advance(seconds=60)
    scheduler.run_pass()
    assert _executions(medic) == []
    clock.advance(seconds=60)
    scheduler.run_pass()
    other.run_pass()
    scheduler.run_pass()

    (execution,) = _executions(medic)
    # The row keeps the requester's principal; views name it `medic`.
    assert execution.alert_id is not None and execution.requested_by == "system"
    assert execution.reason is not None and execution.reason.startswith(
        f"alert {execution.alert_id} on worker-1"
    )
    assert execution.execution_id is not None
    assert runner.run(execution.execution_id).state == "completed"
    assert webhook_receiver.requests[0].json == {"service": "worker-1"}


def test_a_trigger_refused_by_the_circuit_breaker_is_told_once_per_alert(
    client: TestClient,
    write_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    scheduler: RecordingScheduler,
    medic: MedicProcess,
    clock: Clock,
    webhook_receiver: Receiver,
) -> None:
    apply_playbook(PLAYBOOK.format(url=webhook_receiver.url).replace("3\n", "1\n", 1))
    register("worker-1", alert_interval=1)
    beat = {"heartbeat_name": "worker-1", "status": "UP"}
    assert client.post("/v2/heartbeats", json=beat, headers=write_headers).status_code == 201
    for _ in range(3):
        execute("restart-worker", service="worker-1")

    clock.advance(seconds=61)
    scheduler.run_pass()  # the alert opens; the trigger is refused
    scheduler.run_pass()
    # Another scheduler, and this one after a restart: nothing in memory survives.
    RecordingScheduler(medic.db, medic.settings).run_pass()
    RecordingScheduler(medic.db, medic.settings).run_pass()

    with medic.db.session() as session:
        refusals = session.exec(
            select(Notification).where(Notification.kind == "execution.refused")
        ).all()
        audited = session.exec(
            select(AuditEntry).where(AuditEntry.action == "execution.refused")
        ).all()
    assert len(refusals) == 1 and refusals[0].alert_id is not None
    assert len(audited) == 1 and audited[0].actor == "medic"
    assert len(_executions(medic)) == 3
