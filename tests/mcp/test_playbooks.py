"""Playbooks over MCP: an assistant's request waits for a human, whose approval
request lands in Slack; approving over MCP is refused unless MEDIC_MCP_MAY_APPROVE, and
even then the requester can never approve it; MEDIC_MCP_APPROVAL=playbook lets an
`approval: none` playbook run at once; step output comes back untrusted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp import ClientSession

from medic.models import Service
from medic.ops import audit_log, playbooks
from medic.ops.actor import cli_operator
from medic.ops.operation import Context
from medic.process import MedicProcess
from tests.fakes.receiver import Receiver
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.mcp.conftest import error, result
from tests.mcp_client import Connect
from tests.playbook_runs import Runner
from tests.postman import Postman
from tests.support import RecordingScheduler

pytestmark = pytest.mark.anyio
CHANNEL = "C0ONCALL"
PLAYBOOK = """
name: restart-worker
description: Restart the worker and let it recover
approval: {approval}
steps:
  - name: restart
    type: webhook
    url: "{url}/restart"
"""


@pytest.fixture
def mcp_approval() -> str:
    return "always"


@pytest.fixture
def mcp_may_approve() -> bool:
    return False


@pytest.fixture
def settings_overrides(
    fake_slack: FakeSlack, mcp_approval: str, mcp_may_approve: bool
) -> dict[str, Any]:
    return {
        "slack_api_token": BOT_TOKEN,
        "slack_api_base_url": fake_slack.base_url,
        "slack_channel_id": CHANNEL,
        "medic_allowed_webhook_hosts": "127.0.0.1",
        "medic_mcp_approval": mcp_approval,
        "medic_mcp_may_approve": mcp_may_approve,
    }


@pytest.fixture
def playbook(
    medic: MedicProcess,
    add_service: Callable[..., Service],
    webhook_receiver: Receiver,
) -> Callable[[str], str]:
    """worker-1, and restart-worker with the given approval setting."""
    add_service("worker-1")

    def apply(approval: str) -> str:
        yaml_text = PLAYBOOK.format(approval=approval, url=webhook_receiver.url)
        command = playbooks.ApplyPlaybook.of(source_yaml=yaml_text)
        return playbooks.apply_playbook(Context(medic.db, cli_operator()), command).name

    return apply


async def _request(mcp: ClientSession, name: str) -> dict[str, Any]:
    arguments = {"playbook": name, "service": "worker-1", "reason": "worker-1 stopped beating"}
    return result(await mcp.call_tool("execute_playbook", arguments))


async def test_a_request_waits_for_a_human_and_the_approval_request_lands_in_slack(
    medic: MedicProcess,
    connect: Connect,
    make_key: Callable[..., str],
    playbook: Callable[[str], str],
    scheduler: RecordingScheduler,
    postman: Postman,
    fake_slack: FakeSlack,
    webhook_receiver: Receiver,
) -> None:
    async with connect(make_key("write", name="claude")) as mcp:
        requested = await _request(mcp, playbook("required"))

    execution = requested["execution"]
    assert requested["approval_required"] is True
    assert execution["state"] == "pending_approval"
    assert (execution["requested_by"], execution["front_door"]) == ("claude", "mcp")
    assert "approve" in execution["next"] and "Slack" in execution["next"]

    scheduler.run_pass()
    postman.deliver()
    [posted] = fake_slack.calls("chat.postMessage")
    assert posted.body["channel"] == CHANNEL
    assert "Approval needed" in posted.body["text"] and "restart-worker" in posted.body["text"]
    assert "`claude` via an AI assistant (MCP)" in str(fake_slack.messages)
    assert webhook_receiver.requests == [], "nothing ran"
    [started] = audit_log.list_entries(
        medic.context(cli_operator()), audit_log.ListEntries.of(action="execution.start")
    )[0]
    assert (started.actor, started.front_door) == ("claude", "mcp")


@pytest.mark.parametrize("mcp_may_approve", [True])
async def test_the_requester_can_never_approve_its_own_execution_even_with_an_admin_key(
    connect: Connect, make_key: Callable[..., str], playbook: Callable[[str], str]
) -> None:
    async with connect(make_key("admin", name="assistant")) as mcp:
        requested = await _request(mcp, playbook("required"))
        execution_id = requested["execution"]["execution_id"]
        approving = error(await mcp.call_tool("approve_execution", {"execution_id": execution_id}))
        declining = error(await mcp.call_tool("decline_execution", {"execution_id": execution_id}))
        still = result(await mcp.call_tool("get_execution", {"execution_id": execution_id}))

    assert "the requester of an execution cannot approve it" in approving
    assert "the requester of an execution cannot approve it" in declining
    assert still["state"] == "pending_approval" and still["decided_by"] is None

    async with connect(make_key("admin", name="on-call-lead")) as other:
        approved = result(
            await other.call_tool("approve_execution", {"execution_id": execution_id})
        )
    assert (approved["state"], approved["decided_by"]) == ("running", "on-call-lead")


@pytest.mark.parametrize("mcp_may_approve", [True])
async def test_a_write_key_that_is_no_approver_cannot_decide(
    connect: Connect, make_key: Callable[..., str], playbook: Callable[[str], str]
) -> None:
    async with connect(make_key("write", name="assistant")) as mcp:
        execution_id = (await _request(mcp, playbook("required")))["execution"]["execution_id"]
    async with connect(make_key("write", name="bystander")) as other:
        refused = error(await other.call_tool("approve_execution", {"execution_id": execution_id}))
    async with connect(make_key("read", name="reader")) as reader:
        read_only = error(
            await reader.call_tool(
                "execute_playbook", {"playbook": "restart-worker", "reason": "x"}
            )
        )

    assert "forbidden: only the team's approvers may decide" in refused
    assert "'write' scope" in read_only


async def test_by_default_an_admin_key_declines_but_cannot_approve_over_mcp(
    connect: Connect, make_key: Callable[..., str], playbook: Callable[[str], str]
) -> None:
    """A human approves in Slack or on the approval page; an assistant may say no."""
    async with connect(make_key("write", name="assistant")) as mcp:
        first = (await _request(mcp, playbook("required")))["execution"]["execution_id"]
        second = (await _request(mcp, playbook("required")))["execution"]["execution_id"]
    async with connect(make_key("admin", name="another-assistant")) as other:
        refused = error(await other.call_tool("approve_execution", {"execution_id": first}))
        declined = result(await other.call_tool("decline_execution", {"execution_id": second}))
        still = result(await other.call_tool("get_execution", {"execution_id": first}))

    assert "approving over MCP is off" in refused and "approval page" in refused
    assert (declined["state"], declined["decided_by"]) == ("cancelled", "another-assistant")
    assert still["state"] == "pending_approval" and still["decided_by"] is None


async def test_an_approval_none_playbook_still_waits_when_requested_over_mcp(
    connect: Connect, make_key: Callable[..., str], playbook: Callable[[str], str]
) -> None:
    async with connect(make_key("write")) as mcp:
        requested = await _request(mcp, playbook("none"))

    assert requested["approval_required"] is True
    assert requested["execution"]["state"] == "pending_approval"


@pytest.mark.parametrize("mcp_approval", ["playbook"])
async def test_with_mcp_approval_playbook_it_runs_at_once_and_step_output_is_untrusted(
    medic: MedicProcess,
    connect: Connect,
    make_key: Callable[..., str],
    playbook: Callable[[str], str],
    webhook_receiver: Receiver,
) -> None:
    async with connect(make_key("write")) as mcp:
        requested = await _request(mcp, playbook("none"))
        execution_id = requested["execution"]["execution_id"]
        assert requested["approval_required"] is False
        assert requested["execution"]["state"] == "running"

        assert Runner(medic).run(execution_id).state == "completed"
        finished = result(await mcp.call_tool("get_execution", {"execution_id": execution_id}))

    assert [r.path for r in webhook_receiver.requests] == ["/restart"]
    assert finished["state"] == "completed" and finished["next"].startswith("finished")
    [step] = finished["steps"]
    assert step["state"] == "succeeded"
    assert step["summary"]["untrusted"] is True and "/restart" in step["summary"]["text"]
