"""One action, every door, one outcome: muting, unmuting, acknowledging, requesting a
playbook run, approving and declining it through every door that offers them (v1, v2,
a Slack command, a Slack button, MCP over HTTP, the CLI) reach the same declared
operation, leave the same state and write the same audit action, naming the door used.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from medic.models import Alert, ApiKey, AuditEntry, Execution, Service
from medic.notify.blocks.alerts import ACK_ACTION, MUTE_ACTION, UNMUTE_ACTION
from medic.notify.blocks.approvals import ACCEPT_ACTION, DECLINE_ACTION
from medic.ops import executions
from medic.ops.actor import cli_operator
from medic.ops.executions import GetExecution
from medic.process import MedicProcess
from tests.cli import Run
from tests.fakes import slack as fakes
from tests.mcp.conftest import result
from tests.mcp_client import Connect
from tests.postman import Postman
from tests.processes import wait_for
from tests.slack.conftest import CHANNEL, SlackDriver, button
from tests.support import RecordingScheduler

pytestmark = pytest.mark.anyio
ALICE = "U0ALICE"
DOORS = {
    "v1": "api",
    "v2": "api",
    "slack command": "slack",
    "slack button": "slack",
    "mcp": "mcp",
    "cli": "cli",
}


@pytest.fixture
def settings_overrides(fake_slack: fakes.FakeSlack) -> dict[str, Any]:
    return {
        "slack_signing_secret": fakes.SIGNING_SECRET,
        "slack_api_token": fakes.BOT_TOKEN,
        "slack_api_base_url": fake_slack.base_url,
        "slack_channel_id": CHANNEL,
        "alert_auto_unmute_hours": 24,
        # Approving over MCP is refused by default (tests/security/test_principals.py);
        # opened here so approving is compared through every door that may offer it.
        "medic_mcp_may_approve": True,
    }


@pytest.fixture
def slack(
    client: TestClient, slack_signer: fakes.SlackSigner, fake_slack: fakes.FakeSlack
) -> SlackDriver:
    return SlackDriver(client, slack_signer, fake_slack)


class Doors:
    """Each door, driven as its users drive it, with a write key or a Slack user."""

    def __init__(
        self,
        client: TestClient,
        key: str,
        slack: SlackDriver,
        connect: Connect,
        medic_cli: Run,
        medic: MedicProcess,
    ) -> None:
        self.medic = medic
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}
        self.key = key
        self.slack = slack
        self.connect = connect
        self.cli = medic_cli

    def click(self, action_id: str, value: str, audited_as: str) -> None:
        """A button click is answered at once and acted on just after (Slack's 3 s rule):
        wait until the action is recorded."""
        self.slack.click(action_id, value)
        wait_for(audited_as, lambda: _last_audit(self.medic).action == audited_as, timeout=10)

    def ok(self, response: Any, status: int = 200) -> None:
        assert response.status_code == status, response.text

    async def mcp(self, tool: str, **arguments: Any) -> None:
        async with self.connect(self.key) as session:
            result(await session.call_tool(tool, arguments))

    async def mute(self, door: str, service: Service) -> None:
        """Mute for an hour because of a deploy (v1 and the button have fixed values)."""
        name, service_id = service.heartbeat_name, service.service_id
        if door == "v1":
            self.ok(self.client.post(f"/service/{name}", json={"muted": 1}, headers=self.headers))
        elif door == "v2":
            body = {"duration": "1h", "reason": "deploy"}
            self.ok(
                self.client.post(f"/v2/services/{service_id}/mute", json=body, headers=self.headers)
            )
        elif door == "slack command":
            assert "Muted" in self.slack.reply(f"mute {name} 1h deploy")
        elif door == "slack button":
            self.click(MUTE_ACTION, str(service_id), "service.mute")
        elif door == "mcp":
            await self.mcp("mute_service", service=name, duration="1h", reason="deploy")
        else:
            self.cli("service", "mute", name, "--duration", "1h", "--reason", "deploy")

    async def unmute(self, door: str, service: Service) -> None:
        name, service_id = service.heartbeat_name, service.service_id
        if door == "v1":
            self.ok(self.client.post(f"/service/{name}", json={"muted": 0}, headers=self.headers))
        elif door == "v2":
            self.ok(self.client.post(f"/v2/services/{service_id}/unmute", headers=self.headers))
        elif door == "slack command":
            assert "Unmuted" in self.slack.reply(f"unmute {name}")
        elif door == "slack button":
            self.click(UNMUTE_ACTION, str(service_id), "service.unmute")
        elif door == "mcp":
            await self.mcp("unmute_service", service=name)
        else:
            self.cli("service", "unmute", name)

    async def acknowledge(self, door: str, alert_id: int) -> None:
        if door == "v2":
            path = f"/v2/alerts/{alert_id}/acknowledge"
            self.ok(self.client.post(path, headers=self.headers))
        elif door == "slack command":
            assert "acknowledged" in self.slack.reply(f"ack {alert_id}")
        elif door == "slack button":
            self.click(ACK_ACTION, str(alert_id), "alert.acknowledge")
        elif door == "mcp":
            await self.mcp("acknowledge_alert", alert_id=alert_id)
        else:
            self.cli("alert", "ack", str(alert_id))


@pytest.fixture
def doors(
    client: TestClient,
    make_key: Callable[..., str],
    slack: SlackDriver,
    connect: Connect,
    medic_cli: Run,
    medic: MedicProcess,
) -> Doors:
    """The write key `operator` that medic_cli uses, for every keyed door."""
    return Doors(client, os.environ["MEDIC_API_KEY"], slack, connect, medic_cli, medic)


@pytest.fixture
def service(medic: MedicProcess, register: Callable[..., dict[str, Any]]) -> Service:
    register("nightly-backup")
    return _service(medic)


def _service(medic: MedicProcess) -> Service:
    with medic.db.session() as session:
        return session.exec(select(Service)).one()


def _last_audit(medic: MedicProcess) -> AuditEntry:
    with medic.db.session() as session:
        return session.exec(select(AuditEntry).order_by(col(AuditEntry.audit_id).desc())).first()


def _actor(door: str) -> str:
    return f"slack:{ALICE}" if door.startswith("slack") else "operator"


def _principal(medic: MedicProcess, door: str) -> str:
    """Who the operations layer decides on: the Slack user in its workspace, or the key."""
    if door.startswith("slack"):
        return f"slack:{fakes.TEAM_ID}/{ALICE}"
    with medic.db.session() as session:
        key_id = session.exec(select(ApiKey.api_key_id).where(ApiKey.name == "operator")).one()
    return f"key:{key_id}"


@pytest.mark.parametrize("door", list(DOORS))
async def test_muting_through_every_door_is_the_same_mute(
    door: str, doors: Doors, medic: MedicProcess, service: Service
) -> None:
    before = datetime.now(UTC)

    await doors.mute(door, service)

    muted = _service(medic)
    duration = timedelta(hours=24 if door == "v1" else 1)
    assert muted.muted is True
    assert before + duration <= muted.muted_until <= datetime.now(UTC) + duration
    entry = _last_audit(medic)
    assert (entry.action, entry.outcome, entry.front_door, entry.actor) == (
        "service.mute",
        "success",
        DOORS[door],
        _actor(door),
    )
    assert entry.details["duration_seconds"] == int(duration.total_seconds())
    reasons = {"v1": None, "slack button": "muted from a Slack alert"}
    assert entry.details["reason"] == reasons.get(door, "deploy")
    assert muted.mute_reason == reasons.get(door, "deploy")


@pytest.mark.parametrize("door", list(DOORS))
async def test_unmuting_through_every_door_is_the_same_unmute(
    door: str, doors: Doors, medic: MedicProcess, service: Service
) -> None:
    await doors.mute("v2", service)

    await doors.unmute(door, service)

    unmuted = _service(medic)
    assert (unmuted.muted, unmuted.muted_until, unmuted.mute_reason) == (False, None, None)
    entry = _last_audit(medic)
    assert (entry.action, entry.outcome, entry.front_door, entry.actor) == (
        "service.unmute",
        "success",
        DOORS[door],
        _actor(door),
    )


@pytest.mark.parametrize("door", [d for d in DOORS if d != "v1"])
async def test_acknowledging_through_every_door_is_the_same_acknowledgement(
    door: str, doors: Doors, medic: MedicProcess, service: Service
) -> None:
    with medic.db.session() as session:
        alert = Alert(service_id=service.service_id, active=True, alert_name="late heartbeat")
        session.add(alert)
        session.flush()
        alert_id = alert.alert_id
    assert alert_id is not None

    await doors.acknowledge(door, alert_id)

    with medic.db.session() as session:
        acknowledged = session.get(Alert, alert_id)
    assert acknowledged is not None and acknowledged.acknowledged_by == _actor(door)
    entry = _last_audit(medic)
    assert (entry.action, entry.outcome, entry.front_door, entry.target_id) == (
        "alert.acknowledge",
        "success",
        DOORS[door],
        str(alert_id),
    )


# Remediation: requesting, approving and declining a playbook run, through every door
# that offers them. BOB approves for the payments team in Slack; keys decide elsewhere.
TEAM_CHANNEL = "C0PAYMENTS"
BOB = "U0BOBBY1"
PLAYBOOK = """
name: restart-worker
approval: required
steps:
  - name: settle
    type: wait
    duration: 30s
"""
REQUEST_DOORS = {"v2": "api", "slack command": "slack", "mcp": "mcp", "cli": "cli"}
DECISION_DOORS = {"v2": "api", "slack button": "slack", "mcp": "mcp", "cli": "cli"}


@pytest.fixture
def payments(
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
) -> None:
    team = {"name": "payments", "slack_channel_id": TEAM_CHANNEL, "approvers": [BOB]}
    assert client.post("/v2/teams", json=team, headers=admin_headers).status_code == 201
    register("worker-1", team="payments")
    apply_playbook(PLAYBOOK)


def _execution(medic: MedicProcess) -> Execution:
    with medic.db.session() as session:
        return session.exec(select(Execution)).one()


@pytest.mark.parametrize("door", list(REQUEST_DOORS))
async def test_requesting_a_playbook_run_through_every_door_is_the_same_request(
    door: str, doors: Doors, medic: MedicProcess, payments: None
) -> None:
    if door == "v2":
        body = {"service": "worker-1", "reason": "stuck"}
        response = doors.client.post(
            "/v2/playbooks/restart-worker/execute", json=body, headers=doors.headers
        )
        doors.ok(response, 202)
    elif door == "slack command":
        assert "waiting for approval" in doors.slack.reply("run restart-worker worker-1")
    elif door == "mcp":
        await doors.mcp(
            "execute_playbook", playbook="restart-worker", service="worker-1", reason="stuck"
        )
    else:
        doors.cli("playbook", "run", "restart-worker", "--service", "worker-1", "--reason", "x")

    execution = _execution(medic)
    assert (execution.state, execution.playbook_name, execution.requested_by) == (
        "pending_approval",
        "restart-worker",
        _principal(medic, door),
    )
    query = GetExecution.of(execution_id=execution.execution_id)
    shown = executions.get_execution(medic.context(cli_operator()), query)
    assert shown.requested_by == _actor(door), "views name the requester, as before"
    entry = _last_audit(medic)
    assert (entry.action, entry.outcome, entry.front_door, entry.target_id) == (
        "execution.start",
        "success",
        REQUEST_DOORS[door],
        str(execution.execution_id),
    )


@pytest.mark.parametrize("verdict", ["approve", "decline"])
@pytest.mark.parametrize("door", list(DECISION_DOORS))
async def test_deciding_through_every_door_is_the_same_decision(
    door: str,
    verdict: str,
    doors: Doors,
    medic: MedicProcess,
    payments: None,
    make_key: Callable[..., str],
    scheduler: RecordingScheduler,
    postman: Postman,
    fake_slack: fakes.FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requester = {"Authorization": f"Bearer {make_key('write', name='requester')}"}
    started = doors.client.post(
        "/v2/playbooks/restart-worker/execute", json={"service": "worker-1"}, headers=requester
    )
    doors.ok(started, 202)
    execution_id = started.json()["results"]["execution_id"]
    approver = make_key("admin", name="approver")

    if door == "v2":
        path = f"/v2/executions/{execution_id}/{verdict}"
        doors.ok(doors.client.post(path, headers={"Authorization": f"Bearer {approver}"}))
    elif door == "slack button":
        scheduler.run_pass()
        postman.deliver()
        [ts] = [d.reference["ts"] for d in postman.deliveries() if d.target_kind == "slack"]
        shown = fake_slack.message(TEAM_CHANNEL, ts)
        action = ACCEPT_ACTION if verdict == "approve" else DECLINE_ACTION
        body = fakes.block_actions_body(
            action,
            button(shown["blocks"], action)["value"],
            user_id=BOB,
            channel_id=TEAM_CHANNEL,
            message_ts=shown["ts"],
            blocks=shown["blocks"],
            text=shown["text"],
            response_url=fake_slack.response_url("click"),
        )
        doors.ok(doors.slack.post(body))
        audited = f"execution.{verdict}"
        wait_for(audited, lambda: _last_audit(medic).action == audited, timeout=10)
    elif door == "mcp":
        async with doors.connect(approver) as session:
            result(await session.call_tool(f"{verdict}_execution", {"execution_id": execution_id}))
    else:
        monkeypatch.setenv("MEDIC_API_KEY", approver)
        doors.cli("playbook", verdict, str(execution_id))

    execution = _execution(medic)
    decider = f"slack:{BOB}" if door == "slack button" else "approver"
    expected_state = "running" if verdict == "approve" else "cancelled"
    assert (execution.state, execution.decided_by) == (expected_state, decider)
    entry = _last_audit(medic)
    assert (entry.action, entry.outcome, entry.front_door, entry.actor) == (
        f"execution.{verdict}",
        "success",
        DECISION_DOORS[door],
        decider,
    )
