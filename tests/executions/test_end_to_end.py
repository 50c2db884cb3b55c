"""The seed's restart-worker playbook from alert to recovery, on real processes: a
`medic scheduler` and a `medic worker` on PostgreSQL with the Redis broker, the fake
Slack Web API, a webhook receiver, and the API in-process.

worker-1 reports FAILED → the scheduler opens an alert and the trigger starts
restart-worker, which waits for approval → the worker posts the request to the team's
channel → the team's approver clicks Accept (a signed Slack request) → the webhook
step calls the receiver with substituted variables and the decrypted secret → during
the wait every Medic process is killed with SIGKILL and started again → the wait ends,
a heartbeat arrives, the condition sees it → completed, each step once, all audited.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from medic.models import AuditEntry, Execution, ExecutionStep
from medic.notify.blocks.approvals import ACCEPT_ACTION
from medic.process import MedicProcess
from tests.fakes import slack as fakes
from tests.fakes.receiver import Receiver
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_requests import SIGNING_SECRET, SlackSigner, block_actions_body
from tests.processes import Spawn, wait_for
from tests.slack.conftest import action_ids, button

CHANNEL = "C0PLATFORM"
APPROVER = "U0BOBBY1"
TOKEN = "restart-token-e2e-91c3"
SECRETS_KEY = base64.b64encode(bytes(range(32))).decode()

RESTART_WORKER = """
name: restart-worker
description: Restart the worker service and verify recovery
trigger:
  service_pattern: "worker-*"
  consecutive_failures: 1
approval: required
steps:
  - name: restart-service
    type: webhook
    url: "{url}/restart"
    method: POST
    headers:
      Authorization: "Bearer ${{secrets.RESTART_TOKEN}}"
    body:
      service: "${{SERVICE_NAME}}"
      heartbeat: "${{HEARTBEAT_NAME}}"
      alert: "${{ALERT_ID}}"
      execution: "${{EXECUTION_ID}}"
  - name: wait-for-recovery
    type: wait
    duration: 4s
  - name: verify-heartbeat
    type: condition
    check: heartbeat_received
    timeout: 60s
    on_failure: escalate
"""

pytestmark = pytest.mark.parametrize("backend", ["postgres"])


@pytest.fixture
def settings_overrides(fake_slack: FakeSlack) -> dict[str, Any]:
    return {
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_token": fakes.BOT_TOKEN,
        "slack_api_base_url": fake_slack.base_url,
        "medic_allowed_webhook_hosts": "127.0.0.1",
        "medic_secrets_key": SECRETS_KEY,
    }


@pytest.fixture
def medic_processes(spawn: Spawn, fake_slack: FakeSlack) -> Callable[[str], list[Any]]:
    """Start a scheduler and a worker (as generation `tag`) configured like the API."""
    env = {
        "SLACK_BOT_TOKEN": fakes.BOT_TOKEN,
        "SLACK_API_BASE_URL": fake_slack.base_url,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "MEDIC_ALLOWED_WEBHOOK_HOSTS": "127.0.0.1",
        "MEDIC_SECRETS_KEY": SECRETS_KEY,
        "WORKER_INTERVAL_SECONDS": "1",
    }
    return lambda tag: [
        spawn("scheduler", f"scheduler-{tag}", **env),
        spawn("worker", f"worker-{tag}", **env),
    ]


def execution(medic: MedicProcess) -> Execution | None:
    with medic.db.session() as session:
        return session.exec(select(Execution)).first()


def steps(medic: MedicProcess) -> list[ExecutionStep]:
    with medic.db.session() as session:
        return list(session.exec(select(ExecutionStep).order_by(col(ExecutionStep.position))))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_restart_worker_from_alert_to_recovery_with_an_accept_in_slack_and_a_kill_mid_wait(
    client: TestClient,
    medic: MedicProcess,
    admin_headers: dict[str, str],
    write_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    webhook_receiver: Receiver,
    fake_slack: FakeSlack,
    slack_signer: SlackSigner,
    medic_processes: Callable[[str], list[Any]],
) -> None:
    team = {"name": "platform", "slack_channel_id": CHANNEL, "approvers": [APPROVER]}
    assert client.post("/v2/teams", json=team, headers=admin_headers).status_code == 201
    service_id = register("worker-1", service_name="worker-1", team="platform")["service_id"]
    secret = client.put("/v2/secrets/RESTART_TOKEN", json={"value": TOKEN}, headers=admin_headers)
    assert secret.status_code == 201
    apply_playbook(RESTART_WORKER.format(url=webhook_receiver.url))
    first_generation = medic_processes("1")

    beat = {"heartbeat_name": "worker-1", "status": "FAILED", "message": "OOM killed"}
    assert client.post("/v2/heartbeats", json=beat, headers=write_headers).status_code == 201

    def approval_request() -> dict[str, Any] | None:
        for (channel, _ts), shown in list(fake_slack.messages.items()):
            if channel == CHANNEL and ACCEPT_ACTION in action_ids(shown.get("blocks") or []):
                return shown
        return None

    request = wait_for("the approval request in the team's channel", approval_request, 30)
    pending = execution(medic)
    assert pending is not None and pending.state == "pending_approval"
    assert pending.service_id == service_id and pending.alert_id is not None
    assert webhook_receiver.requests == [], "nothing runs before an approver accepts"

    click = block_actions_body(
        ACCEPT_ACTION,
        button(request["blocks"], ACCEPT_ACTION)["value"],
        user_id=APPROVER,
        channel_id=CHANNEL,
        message_ts=request["ts"],
        blocks=request["blocks"],
        text=request["text"],
        response_url=fake_slack.response_url("click"),
    )
    accepted = client.post("/slack/events", content=click, headers=slack_signer.headers(click))
    assert accepted.status_code == 200, accepted.text

    [call] = webhook_receiver.wait_for(1, timeout=30)
    assert call.method == "POST" and call.path == "/restart"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.json == {
        "service": "worker-1",
        "heartbeat": "worker-1",
        "alert": str(pending.alert_id),
        "execution": str(pending.execution_id),
    }
    edited = wait_for("the request edited", lambda: fake_slack.calls("chat.update"), 10)
    assert any(f"<@{APPROVER}>" in str(c.body["blocks"]) for c in edited)

    def in_the_wait() -> bool:
        current = execution(medic)
        return current is not None and current.state == "waiting" and current.next_step == 1

    wait_for("the wait step under way", in_the_wait, 10)
    killed_at = datetime.now(UTC)
    for process in first_generation:
        process.kill()  # SIGKILL: no shutdown handler runs
    for process in first_generation:
        process.wait(timeout=10)
    medic_processes("2")

    def polling_for_the_heartbeat() -> bool:
        current = execution(medic)
        return current is not None and current.next_step == 2 and current.state == "waiting"

    wait_for("the wait over and the condition polling", polling_for_the_heartbeat, 30)
    beat = {"heartbeat_name": "worker-1", "status": "UP"}
    assert client.post("/v2/heartbeats", json=beat, headers=write_headers).status_code == 201
    done = wait_for(
        "the execution completed",
        lambda: (e := execution(medic)) is not None and e.state == "completed" and e,
        30,
    )
    assert done.decided_by == f"slack:{APPROVER}" and done.error is None
    restart, wait, verify = steps(medic)
    assert [(s.name, s.state) for s in (restart, wait, verify)] == [
        ("restart-service", "succeeded"),
        ("wait-for-recovery", "succeeded"),
        ("verify-heartbeat", "succeeded"),
    ]
    assert wait.finished_at is not None and _utc(wait.finished_at) > killed_at
    assert restart.attempts == 1 and len(webhook_receiver.requests) == 1, (
        "a finished step never runs again"
    )

    with medic.db.session() as session:
        entries = list(
            session.exec(
                select(AuditEntry)
                .where(col(AuditEntry.action).startswith("execution."))
                .order_by(col(AuditEntry.audit_id))
            )
        )
    assert [(e.action, e.actor, e.front_door, e.outcome) for e in entries] == [
        ("execution.start", "medic", "system", "success"),
        ("execution.approve", f"slack:{APPROVER}", "slack", "success"),
        ("execution.step.webhook", "medic", "system", "success"),
        ("execution.step.wait", "medic", "system", "success"),
        ("execution.step.condition", "medic", "system", "success"),
        ("execution.completed", "medic", "system", "success"),
    ]
    assert TOKEN not in " ".join(str(e.details) for e in entries)
