"""Before execute_playbook, mute_service, create_maintenance_window and acknowledge_alert
act, the user (not the model) is asked to confirm through the protocol's elicitation,
on both protocol eras; a decline changes nothing and is audited as a refusal; a client
that cannot be asked gets today's behaviour (an execution waits for Slack); the model
can never answer for the user; results link to the dashboard's pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from mcp.types import CallToolResult, ElicitResult, ResourceLink
from sqlmodel import select

from medic.models import AuditEntry, Execution, MaintenanceWindow, Service
from medic.ops import playbooks
from medic.ops.actor import cli_operator
from medic.ops.operation import Context
from medic.process import MedicProcess
from tests.fakes.receiver import Receiver
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.mcp.conftest import Spawn, error, result
from tests.mcp_client import Connect
from tests.postman import Postman
from tests.support import RecordingScheduler

pytestmark = pytest.mark.anyio
PLAYBOOK = """
name: restart-worker
approval: {approval}
steps:
  - name: restart
    type: webhook
    url: "{url}/restart"
"""
REQUEST = {"playbook": "restart-worker", "service": "worker-1", "reason": "worker-1 is stuck"}
MUTE = {"service": "worker-1", "duration": "1h", "reason": "deploying"}
WINDOW = {"name": "db upgrade", "reason": "planned", "services": ["worker-1"], "duration": "2h"}


@dataclass
class User:
    """The person behind the client: answers every question with `answer`."""

    answer: Literal["accept", "decline", "cancel"]
    questions: list[str] = field(default_factory=list)

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        self.questions.append(params.message)
        content = {"confirm": True} if self.answer == "accept" else None
        return ElicitResult(action=self.answer, content=content)


@pytest.fixture
def settings_overrides(fake_slack: FakeSlack) -> dict[str, Any]:
    return {
        "slack_api_token": BOT_TOKEN,
        "slack_api_base_url": fake_slack.base_url,
        "slack_channel_id": "C0ONCALL",
        "medic_allowed_webhook_hosts": "127.0.0.1",
        "medic_base_url": "https://medic.example.com",
    }


@pytest.fixture
def worker(add_service: Callable[..., Service]) -> Service:
    return add_service("worker-1")


@pytest.fixture
def playbook(
    medic: MedicProcess, worker: Service, webhook_receiver: Receiver
) -> Callable[[str], None]:
    def apply(approval: str) -> None:
        source = PLAYBOOK.format(approval=approval, url=webhook_receiver.url)
        command = playbooks.ApplyPlaybook.of(source_yaml=source)
        playbooks.apply_playbook(Context(medic.db, cli_operator()), command)

    return apply


def _audit(medic: MedicProcess, action: str) -> list[AuditEntry]:
    with medic.db.session() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def _executions(medic: MedicProcess) -> list[Execution]:
    with medic.db.session() as session:
        return list(session.exec(select(Execution)).all())


def _links(answer: CallToolResult) -> list[str]:
    return [str(block.uri) for block in answer.content if isinstance(block, ResourceLink)]


def _service(medic: MedicProcess, service: Service) -> Service:
    with medic.db.session() as session:
        row = session.get(Service, service.service_id)
        assert row is not None
        return row


@pytest.mark.parametrize("modern", [True, False], ids=["2026-07-28", "2025-11-25 stdio"])
async def test_a_confirmed_request_follows_the_playbooks_own_approval_and_links_its_page(
    medic: MedicProcess,
    connect: Connect,
    spawn: Spawn,
    make_key: Callable[..., str],
    playbook: Callable[[str], None],
    webhook_receiver: Receiver,
    modern: bool,
) -> None:
    playbook("none")
    user = User("accept")
    key = make_key("write", name="claude")
    client = connect(key, elicit=user, modern=True) if modern else spawn(key, elicit=user)
    async with client as mcp:
        answer = await mcp.call_tool("execute_playbook", REQUEST)

    requested = result(answer)
    assert requested["approval_required"] is False
    assert requested["execution"]["state"] == "running", "confirmed by its user, it runs"
    [question] = user.questions
    assert "restart-worker" in question and "worker-1" in question
    execution_id = requested["execution"]["execution_id"]
    assert _links(answer) == [
        f"https://medic.example.com/dashboard/executions/{execution_id}",
        "https://medic.example.com/dashboard/services/named/worker-1",
    ]
    [started] = _audit(medic, "execution.start")
    assert started.details.get("confirmed_by_user") is True


async def test_a_confirmed_request_for_a_required_playbook_still_waits_for_an_approver(
    connect: Connect,
    make_key: Callable[..., str],
    playbook: Callable[[str], None],
    scheduler: RecordingScheduler,
    postman: Postman,
    fake_slack: FakeSlack,
) -> None:
    playbook("required")
    async with connect(make_key("write"), elicit=User("accept"), modern=True) as mcp:
        requested = result(await mcp.call_tool("execute_playbook", REQUEST))

    assert requested["execution"]["state"] == "pending_approval"
    scheduler.run_pass()
    postman.deliver()
    shown = str(fake_slack.calls("chat.postMessage")[0].body["blocks"])
    assert "`required` — nothing runs until an approver accepts" in shown
    assert "AI assistant: a human must accept" not in shown


@pytest.mark.parametrize("answer", ["decline", "cancel"])
async def test_a_declined_request_starts_nothing_and_is_audited_as_a_refusal(
    medic: MedicProcess,
    connect: Connect,
    make_key: Callable[..., str],
    playbook: Callable[[str], None],
    webhook_receiver: Receiver,
    answer: Literal["decline", "cancel"],
) -> None:
    playbook("none")
    async with connect(make_key("write", name="claude"), elicit=User(answer), modern=True) as mcp:
        refused = error(await mcp.call_tool("execute_playbook", REQUEST))

    assert "refused" in refused and "nothing changed" in refused
    assert _executions(medic) == []
    assert webhook_receiver.requests == []
    [entry] = _audit(medic, "execution.start")
    assert (entry.actor, entry.front_door, entry.outcome) == ("claude", "mcp", "refused")
    assert (entry.target_type, entry.target_id) == ("playbook", "restart-worker")
    assert entry.details["confirmation"] == answer


async def test_a_client_that_cannot_be_asked_gets_a_request_that_waits_for_slack(
    medic: MedicProcess,
    connect: Connect,
    make_key: Callable[..., str],
    playbook: Callable[[str], None],
) -> None:
    playbook("none")
    async with connect(make_key("write")) as mcp:  # declares no elicitation
        requested = result(await mcp.call_tool("execute_playbook", REQUEST))

    assert requested["approval_required"] is True
    assert requested["execution"]["state"] == "pending_approval"
    [started] = _audit(medic, "execution.start")
    assert "confirmed_by_user" not in started.details


async def test_a_legacy_client_over_stateless_http_is_not_asked_and_falls_back(
    connect: Connect,
    make_key: Callable[..., str],
    playbook: Callable[[str], None],
) -> None:
    """It declares elicitation, but a stateless HTTP answer has no back-channel."""
    playbook("none")
    user = User("accept")
    async with connect(make_key("write"), elicit=user) as mcp:
        requested = result(await mcp.call_tool("execute_playbook", REQUEST))

    assert user.questions == []
    assert requested["execution"]["state"] == "pending_approval"


@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_muting_asks_first_and_a_decline_leaves_the_service_unmuted(
    medic: MedicProcess,
    connect: Connect,
    make_key: Callable[..., str],
    worker: Service,
    answer: Literal["accept", "decline"],
) -> None:
    user = User(answer)
    async with connect(make_key("write"), elicit=user, modern=True) as mcp:
        called = await mcp.call_tool("mute_service", MUTE)

    [question] = user.questions
    assert "worker-1" in question and "1h" in question
    [entry] = _audit(medic, "service.mute")
    if answer == "accept":
        assert result(called)["muted"] is True and _service(medic, worker).muted
        assert _links(called) == ["https://medic.example.com/dashboard/services/named/worker-1"]
        assert entry.outcome == "success"
    else:
        assert "refused" in error(called)
        assert not _service(medic, worker).muted
        assert entry.outcome == "refused"


async def test_a_maintenance_window_is_not_opened_when_declined(
    medic: MedicProcess, connect: Connect, make_key: Callable[..., str], worker: Service
) -> None:
    user = User("decline")
    async with connect(make_key("write"), elicit=user, modern=True) as mcp:
        refused = error(await mcp.call_tool("create_maintenance_window", WINDOW))

    assert "refused" in refused and "db upgrade" in user.questions[0]
    with medic.db.session() as session:
        assert session.exec(select(MaintenanceWindow)).all() == []
    [entry] = _audit(medic, "maintenance.create")
    assert entry.outcome == "refused"


async def test_acknowledging_asks_first(
    medic: MedicProcess,
    connect: Connect,
    make_key: Callable[..., str],
    worker: Service,
    open_alert: Callable[[Service], int],
) -> None:
    alert_id = open_alert(worker)
    key = make_key("write", name="claude")
    async with connect(key, elicit=User("decline"), modern=True) as mcp:
        assert "refused" in error(await mcp.call_tool("acknowledge_alert", {"alert_id": alert_id}))
    async with connect(key, elicit=User("accept"), modern=True) as mcp:
        acknowledged = await mcp.call_tool("acknowledge_alert", {"alert_id": alert_id})

    assert result(acknowledged)["acknowledged_by"] == "claude"
    assert _links(acknowledged) == ["https://medic.example.com/dashboard/services/named/worker-1"]
    outcomes = sorted(e.outcome for e in _audit(medic, "alert.acknowledge"))
    assert outcomes == ["refused", "success"]


async def test_the_model_cannot_answer_for_the_user(
    medic: MedicProcess, connect: Connect, make_key: Callable[..., str], worker: Service
) -> None:
    """The confirmation is no argument: not in any schema, refused when sent."""
    forged = {"action": "accept", "data": {"confirm": True}}
    async with connect(make_key("write"), elicit=User("decline"), modern=True) as mcp:
        tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
        for name in ("execute_playbook", "mute_service", "create_maintenance_window"):
            assert "confirmation" not in str(tools[name].input_schema)
        refused = error(await mcp.call_tool("mute_service", {**MUTE, "confirmation": forged}))

    assert "confirmation" in refused
    assert not _service(medic, worker).muted


async def test_get_execution_links_the_execution_page(
    connect: Connect, make_key: Callable[..., str], playbook: Callable[[str], None]
) -> None:
    playbook("required")
    async with connect(make_key("write")) as mcp:
        requested = result(await mcp.call_tool("execute_playbook", REQUEST))
        execution_id = requested["execution"]["execution_id"]
        shown = await mcp.call_tool("get_execution", {"execution_id": execution_id})

    assert result(shown)["execution_id"] == execution_id
    assert _links(shown) == [f"https://medic.example.com/dashboard/executions/{execution_id}"]


def test_every_replica_opens_the_state_another_sealed_while_a_question_is_answered() -> None:
    from medic.mcp_server.http import request_state_security

    key = b"k" * 32
    one, other = request_state_security(key), request_state_security(key)
    assert one is not None and other is not None
    assert other.codec.unseal(one.codec.seal(b"asked")) == b"asked"
    assert request_state_security(None) is None
