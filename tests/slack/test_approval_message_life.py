"""An approval message tells the truth for its whole life: it states the execution's
effective approval (an AI assistant's request needs a human whatever the playbook
says), and it is edited through the outbox, buttons gone, when the request stops
waiting: the `timeout:Nm` window passes (it proceeds), the `required` window passes
(it expires), its playbook is disabled, or someone decides anywhere else (the API,
the approval page, the CLI). A click on the stale message then says what happened,
never "already decided" when nobody decided."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medic.notify.blocks.approvals import ACCEPT_ACTION, DECLINE_ACTION
from medic.ops import executions as execution_ops
from medic.ops.actor import Actor
from medic.ops.executions import ExecutePlaybook
from medic.process import MedicProcess
from tests.cli import Run
from tests.fakes.receiver import Receiver
from tests.fakes.slack import FakeSlack, block_actions_body
from tests.playbook_runs import Runner
from tests.postman import Postman
from tests.slack.conftest import SlackDriver, action_ids, button
from tests.support import Clock, RecordingScheduler

TEAM_CHANNEL = "C0PAYMENTS"
BOB = "U0BOBBY1"  # the payments team's approver
PLAYBOOK = """
name: restart-worker
description: Restart the worker
approval: {approval}
steps:
  - name: restart
    type: webhook
    url: "{url}/restart"
"""


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    return {"medic_allowed_webhook_hosts": "127.0.0.1"}


@pytest.fixture
def cli_scope() -> str:
    return "admin"  # the CLI decides as an admin key, as operators approve


@pytest.fixture
def playbook(
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    webhook_receiver: Receiver,
) -> Callable[[str], str]:
    """The payments team (its channel, BOB approves), worker-1 in it, and restart-worker
    with the given approval setting."""
    team = {"name": "payments", "slack_channel_id": TEAM_CHANNEL, "approvers": [BOB]}
    assert client.post("/v2/teams", json=team, headers=admin_headers).status_code == 201
    register("worker-1", team="payments")

    def apply(approval: str) -> str:
        return str(
            apply_playbook(PLAYBOOK.format(approval=approval, url=webhook_receiver.url))["name"]
        )

    return apply


@dataclass(frozen=True)
class Posted:
    execution_id: int
    ts: str
    text: str
    blocks: list[dict[str, Any]]


class Channel:
    """The outbox relayed and delivered, and the team channel as Slack shows it."""

    def __init__(self, scheduler: RecordingScheduler, postman: Postman, fake: FakeSlack) -> None:
        self.scheduler, self.postman, self.fake = scheduler, postman, fake

    def deliver(self) -> None:
        self.scheduler.run_pass()
        self.postman.deliver()

    def request(self, execution_id: int) -> Posted:
        """The one approval request posted, as the channel shows it now."""
        self.deliver()
        [posted] = self.fake.calls("chat.postMessage")
        assert posted.body["channel"] == TEAM_CHANNEL
        [ts] = [
            d.reference["ts"]
            for d in self.postman.deliveries()
            if d.kind == "execution.approval_requested" and d.target_kind == "slack"
        ]
        return self.now(execution_id, str(ts))

    def now(self, execution_id: int, ts: str) -> Posted:
        shown = self.fake.message(TEAM_CHANNEL, ts)
        return Posted(execution_id, ts, shown["text"], shown["blocks"])

    def edits(self, posted: Posted) -> list[dict[str, Any]]:
        return [
            call.body
            for call in self.fake.calls("chat.update")
            if (call.body["channel"], call.body["ts"]) == (TEAM_CHANNEL, posted.ts)
        ]


@pytest.fixture
def channel(scheduler: RecordingScheduler, postman: Postman, fake_slack: FakeSlack) -> Channel:
    return Channel(scheduler, postman, fake_slack)


@pytest.fixture
def requested(
    playbook: Callable[[str], str], execute: Callable[..., dict[str, Any]], channel: Channel
) -> Callable[[str], Posted]:
    """restart-worker with `approval`, requested over the API, its request posted."""

    def request(approval: str) -> Posted:
        started = execute(playbook(approval), service="worker-1", reason="stuck")
        assert started["results"]["state"] == "pending_approval"
        return channel.request(int(started["results"]["execution_id"]))

    return request


def _click(slack: SlackDriver, posted: Posted, action_id: str, user_id: str) -> list[str]:
    body = block_actions_body(
        action_id,
        button(posted.blocks, action_id)["value"],
        user_id=user_id,
        channel_id=TEAM_CHANNEL,
        message_ts=posted.ts,
        blocks=posted.blocks,
        text=posted.text,
        response_url=slack.fake.response_url("click"),
    )
    assert slack.post(body).status_code == 200
    slack.fake.wait_for("response_url")
    return [str(c.body["text"]) for c in slack.fake.responses() if c.path.endswith("/click")]


def _shown(blocks: list[dict[str, Any]]) -> str:
    return str(blocks)


@pytest.mark.parametrize("approval", ["timeout:1m", "none"])
def test_an_ai_assistants_request_says_a_human_must_accept_whatever_the_playbook_says(
    medic: MedicProcess, playbook: Callable[[str], str], channel: Channel, approval: str
) -> None:
    assistant = Actor(name="claude", front_door="mcp", scopes=frozenset({"write"}))
    command = ExecutePlaybook.of(playbook=playbook(approval), service="worker-1")
    view = execution_ops.execute_playbook(medic.context(assistant), command)

    posted = channel.request(view.execution_id)

    shown = _shown(posted.blocks)
    assert "requested by an AI assistant: a human must accept" in shown
    assert f"`{approval}` does not apply" in shown
    assert "runs at" not in shown, "it is cancelled, never run, if nobody decides"
    assert action_ids(posted.blocks) == [ACCEPT_ACTION, DECLINE_ACTION]


def test_a_timeout_request_says_it_runs_unless_declined(
    requested: Callable[[str], Posted],
) -> None:
    posted = requested("timeout:1m")

    assert "`timeout:1m` — runs at <!date^" in _shown(posted.blocks)


def test_when_a_timeout_passes_the_message_says_it_proceeded_and_a_late_click_says_so(
    medic: MedicProcess,
    clock: Clock,
    slack: SlackDriver,
    channel: Channel,
    requested: Callable[[str], Posted],
    webhook_receiver: Receiver,
) -> None:
    posted = requested("timeout:1m")
    clock.advance(seconds=61)

    assert Runner(medic).run(posted.execution_id).state == "completed"
    channel.deliver()

    [edit] = channel.edits(posted)
    assert not action_ids(edit["blocks"]), "the buttons are gone"
    assert "*Nobody declined* by <!date^" in _shown(edit["blocks"])
    assert "nobody decided" in _shown(edit["blocks"])
    assert len(webhook_receiver.requests) == 1

    [told] = _click(slack, posted, ACCEPT_ACTION, BOB)
    assert "already decided" not in told
    assert "nobody decided this request" in told and "proceeded" in told


def test_when_a_required_request_expires_the_message_says_so(
    medic: MedicProcess,
    clock: Clock,
    slack: SlackDriver,
    channel: Channel,
    requested: Callable[[str], Posted],
    webhook_receiver: Receiver,
) -> None:
    posted = requested("required")
    clock.advance(seconds=60 * (medic.settings.medic_approval_expiry_minutes + 1))

    assert Runner(medic).run(posted.execution_id).state == "cancelled"
    channel.deliver()

    [edit] = channel.edits(posted)
    assert not action_ids(edit["blocks"])
    assert "*Expired*: nobody accepted" in _shown(edit["blocks"])
    assert webhook_receiver.requests == []

    [told] = _click(slack, posted, DECLINE_ACTION, BOB)
    assert "already decided" not in told and "expired" in told


@pytest.mark.parametrize(
    ("door", "verb", "says"),
    [
        ("api", "approve", "*Accepted* by `test-admin` at <!date^"),
        ("page", "decline", "*Declined* by `page-approver` at <!date^"),
        ("cli", "approve", "*Accepted* by `operator` at <!date^"),
    ],
)
def test_a_decision_made_elsewhere_edits_the_message_and_says_who_and_through_what(
    client: TestClient,
    admin_headers: dict[str, str],
    make_key: Callable[..., str],
    medic_cli: Run,
    channel: Channel,
    requested: Callable[[str], Posted],
    fetch: Callable[[str], Any],
    door: str,
    verb: str,
    says: str,
) -> None:
    posted = requested("required")
    execution_id = posted.execution_id
    if door == "api":
        answer = client.post(f"/v2/executions/{execution_id}/{verb}", headers=admin_headers)
        assert answer.status_code == 200, answer.text
        via = "via the API"
    elif door == "page":
        token = button(posted.blocks, ACCEPT_ACTION)["value"].rsplit(":", 1)[1]
        form = {"api_key": make_key("admin", name="page-approver"), "decision": "decline"}
        assert client.post(f"/approvals/{token}", data=form).status_code == 200
        via = "via the dashboard"
    else:
        medic_cli("playbook", verb, str(execution_id))
        via = "via the CLI"

    channel.deliver()

    [edit] = channel.edits(posted)
    assert not action_ids(edit["blocks"])
    shown = _shown(edit["blocks"])
    assert says in shown and via in shown
    assert not action_ids(channel.now(execution_id, posted.ts).blocks)
    expected = "running" if verb == "approve" else "cancelled"
    assert fetch(f"/v2/executions/{execution_id}")["state"] == expected


def test_disabling_the_playbook_cancels_the_request_and_the_message_says_why(
    client: TestClient,
    admin_headers: dict[str, str],
    channel: Channel,
    requested: Callable[[str], Posted],
) -> None:
    posted = requested("required")

    answer = client.patch(
        "/v2/playbooks/restart-worker", json={"enabled": False}, headers=admin_headers
    )
    assert answer.status_code == 200, answer.text
    channel.deliver()

    [edit] = channel.edits(posted)
    assert not action_ids(edit["blocks"])
    shown = _shown(edit["blocks"])
    assert "*Cancelled* by `test-admin` at <!date^" in shown and "via the API" in shown
    assert "the playbook was disabled" in shown


def test_a_request_decided_before_it_was_posted_is_posted_closed_and_edited_once_posted(
    client: TestClient,
    admin_headers: dict[str, str],
    playbook: Callable[[str], str],
    execute: Callable[..., dict[str, Any]],
    channel: Channel,
    fake_slack: FakeSlack,
) -> None:
    started = execute(playbook("required"), service="worker-1")
    execution_id = int(started["results"]["execution_id"])
    answer = client.post(f"/v2/executions/{execution_id}/decline", headers=admin_headers)
    assert answer.status_code == 200, answer.text

    channel.deliver()

    [posted] = fake_slack.calls("chat.postMessage")
    assert not action_ids(posted.body["blocks"])
    assert "*Declined* by `test-admin`" in _shown(posted.body["blocks"])
    for edit in fake_slack.calls("chat.update"):
        assert not action_ids(edit.body["blocks"])


def test_a_slack_click_and_the_outbox_edit_say_the_same(
    slack: SlackDriver,
    channel: Channel,
    requested: Callable[[str], Posted],
    fake_slack: FakeSlack,
) -> None:
    posted = requested("required")
    body = block_actions_body(
        ACCEPT_ACTION,
        button(posted.blocks, ACCEPT_ACTION)["value"],
        user_id=BOB,
        channel_id=TEAM_CHANNEL,
        message_ts=posted.ts,
        blocks=posted.blocks,
        text=posted.text,
        response_url=slack.fake.response_url("click"),
    )
    assert slack.post(body).status_code == 200
    [clicked] = fake_slack.wait_for("chat.update")

    channel.deliver()

    edits = channel.edits(posted)
    assert len(edits) == 2
    outcome = [block for block in edits[1]["blocks"] if block.get("block_id")][-1]
    assert outcome in clicked.body["blocks"]
    assert f"*Accepted* by <@{BOB}>" in str(outcome)
