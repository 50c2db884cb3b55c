"""Approvals in Slack: a playbook that asks for approval posts a request to the team's
channel with Accept and Decline; an approver's click decides (as that Slack user) and
the message says who decided; the requester, a non-approver, a second click and a late
click change nothing and are told why. `/medic run` starts a playbook from Slack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medic.bot.commands import Run, parse
from medic.notify.blocks.approvals import ACCEPT_ACTION, DECLINE_ACTION
from medic.notify.message import ExecutionFacts, Message, Target
from medic.notify.slack import SlackSender
from medic.process import MedicProcess
from tests.fakes.receiver import Receiver
from tests.fakes.slack import FakeSlack, block_actions_body
from tests.playbook_runs import Runner
from tests.postman import Postman
from tests.slack.conftest import ALICE, CHANNEL, SlackDriver, action_ids, button
from tests.support import Clock, RecordingScheduler

TEAM_CHANNEL = "C0PAYMENTS"
BOB = "U0BOBBY1"  # the payments team's approver
CAROL = "U0CAROL1"  # in the workspace, not an approver
DAVE = "U0DAVE01"  # an approver for every team (MEDIC_SLACK_APPROVERS)
WEBHOOKS = {"medic_allowed_webhook_hosts": "127.0.0.1"}

PLAYBOOK = """
name: restart-worker
description: Restart the worker and let it recover
approval: required
steps:
  - name: restart
    type: webhook
    url: "{url}/restart"
    body:
      heartbeat: "${{HEARTBEAT_NAME}}"
"""


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    return dict(WEBHOOKS)


@pytest.fixture
def payments(
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    webhook_receiver: Receiver,
) -> dict[str, Any]:
    """The payments team (its channel, BOB approves), worker-1 in it, and the playbook."""
    team = {"name": "payments", "slack_channel_id": TEAM_CHANNEL, "approvers": [BOB]}
    response = client.post("/v2/teams", json=team, headers=admin_headers)
    assert response.status_code == 201, response.text
    service = register("worker-1", team="payments")
    apply_playbook(PLAYBOOK.format(url=webhook_receiver.url))
    return service


@dataclass(frozen=True)
class Request:
    """The approval request as Slack shows it in the team's channel."""

    execution_id: int
    ts: str
    blocks: list[dict[str, Any]]
    text: str

    def click(
        self, slack: SlackDriver, action_id: str, user_id: str, channel: str = TEAM_CHANNEL
    ) -> None:
        """What Slack posts when `user_id` clicks `action_id` on this message."""
        body = block_actions_body(
            action_id,
            button(self.blocks, action_id)["value"],
            user_id=user_id,
            channel_id=channel,
            message_ts=self.ts,
            blocks=self.blocks,
            text=self.text,
            response_url=slack.fake.response_url("click"),
        )
        response = slack.post(body)
        assert response.status_code == 200, response.text


@pytest.fixture
def deliver(
    scheduler: RecordingScheduler,
    postman: Postman,
    fake_slack: FakeSlack,
) -> Callable[[int], Request]:
    """Relay the outbox and deliver: the one request posted for `execution_id`."""

    def go(execution_id: int) -> Request:
        scheduler.run_pass()
        postman.deliver()
        [posted] = fake_slack.calls("chat.postMessage")
        assert posted.body["channel"] == TEAM_CHANNEL
        shown = fake_slack.message(TEAM_CHANNEL, next(_ts(postman)))
        return Request(execution_id, shown["ts"], shown["blocks"], shown["text"])

    return go


def _ts(postman: Postman) -> Any:
    return (d.reference["ts"] for d in postman.deliveries() if d.target_kind == "slack")


@pytest.fixture
def requested(
    payments: dict[str, Any],
    execute: Callable[..., dict[str, Any]],
    deliver: Callable[[int], Request],
) -> Request:
    """restart-worker on worker-1, requested over the API by the key `test-writer`."""
    started = execute("restart-worker", service="worker-1", reason="worker-1 stopped beating")
    assert started["results"]["state"] == "pending_approval"
    return deliver(int(started["results"]["execution_id"]))


def _state(fetch: Callable[[str], Any], execution_id: int) -> dict[str, Any]:
    return fetch(f"/v2/executions/{execution_id}")  # type: ignore[no-any-return]


def _told(fake_slack: FakeSlack, count: int = 1) -> list[str]:
    """What the clicker was told privately (posts to the click's response URL)."""
    fake_slack.wait_for("response_url", count)
    calls = [c for c in fake_slack.responses() if c.path.endswith("/click")]
    assert all(c.body.get("response_type") == "ephemeral" for c in calls)
    assert all(c.body.get("replace_original") is False for c in calls)
    return [str(c.body["text"]) for c in calls]


def test_the_request_lands_in_the_team_channel_with_what_why_who_and_until_when(
    requested: Request, fake_slack: FakeSlack
) -> None:
    [posted] = fake_slack.calls("chat.postMessage")
    assert posted.body["channel"] == TEAM_CHANNEL
    assert "Approval needed" in posted.body["text"] and "restart-worker" in posted.body["text"]

    shown = str(requested.blocks)
    assert "*restart-worker* v1" in shown
    assert "Restart the worker and let it recover" in shown
    assert "restart (webhook)" in shown
    assert "worker-1" in shown and "payments" in shown
    assert "worker-1 stopped beating" in shown
    assert "`test-writer` via the API" in shown
    assert "`required`" in shown and "<!date^" in shown
    assert action_ids(requested.blocks) == [ACCEPT_ACTION, DECLINE_ACTION]
    accept = button(requested.blocks, ACCEPT_ACTION)
    decline = button(requested.blocks, DECLINE_ACTION)
    assert (accept["text"]["text"], accept["style"]) == ("Accept", "primary")
    assert (decline["text"]["text"], decline["style"]) == ("Decline", "danger")
    # The request it decides: the execution, its pinned version, its approval token.
    execution_id, version, token = accept["value"].split(":")
    assert accept["value"] == decline["value"]
    assert (int(execution_id), int(version)) == (requested.execution_id, 1) and len(token) >= 32


def test_an_approver_accepts_the_playbook_runs_and_the_message_says_who(
    medic: MedicProcess,
    slack: SlackDriver,
    fake_slack: FakeSlack,
    requested: Request,
    fetch: Callable[[str], Any],
    audit: Callable[[str], list[Any]],
    webhook_receiver: Receiver,
) -> None:
    requested.click(slack, ACCEPT_ACTION, BOB)

    [update] = fake_slack.wait_for("chat.update")
    assert (update.body["channel"], update.body["ts"]) == (TEAM_CHANNEL, requested.ts)
    assert not action_ids(update.body["blocks"]), "the buttons are gone"
    assert f"*Accepted* by <@{BOB}> at <!date^" in str(update.body["blocks"])
    execution = _state(fetch, requested.execution_id)
    assert execution["state"] == "running" and execution["decided_by"] == f"slack:{BOB}"
    [entry] = audit("execution.approve")
    assert (entry.actor, entry.front_door, entry.outcome) == (f"slack:{BOB}", "slack", "success")

    assert Runner(medic).run(requested.execution_id).state == "completed"
    [call] = webhook_receiver.requests
    assert call.path == "/restart" and call.json == {"heartbeat": "worker-1"}


def test_a_decline_cancels_it_and_the_message_says_who_declined(
    medic: MedicProcess,
    slack: SlackDriver,
    fake_slack: FakeSlack,
    requested: Request,
    fetch: Callable[[str], Any],
    webhook_receiver: Receiver,
) -> None:
    requested.click(slack, DECLINE_ACTION, BOB)

    [update] = fake_slack.wait_for("chat.update")
    assert f"*Declined* by <@{BOB}>" in str(update.body["blocks"])
    assert not action_ids(update.body["blocks"])
    assert _state(fetch, requested.execution_id)["state"] == "cancelled"
    assert Runner(medic).run(requested.execution_id).state == "cancelled"
    assert webhook_receiver.requests == []


def test_someone_who_is_not_an_approver_is_refused_privately_and_nothing_changes(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    requested: Request,
    fetch: Callable[[str], Any],
    audit: Callable[[str], list[Any]],
) -> None:
    requested.click(slack, ACCEPT_ACTION, CAROL)

    [told] = _told(fake_slack)
    assert "only the team's approvers may decide" in told
    assert fake_slack.calls("chat.update") == []
    assert _state(fetch, requested.execution_id)["state"] == "pending_approval"
    [entry] = audit("execution.approve")
    assert (entry.actor, entry.outcome) == (f"slack:{CAROL}", "refused")


def test_the_requester_cannot_accept_their_own_request(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    payments: dict[str, Any],
    deliver: Callable[[int], Request],
    fetch: Callable[[str], Any],
) -> None:
    answer = slack.reply("run restart-worker worker-1", user_id=BOB)
    execution_id = int(answer.split("#", 1)[1].split()[0])
    request = deliver(execution_id)
    assert f"<@{BOB}> via Slack" in str(request.blocks)

    request.click(slack, ACCEPT_ACTION, BOB)

    [told] = _told(fake_slack)
    assert "the requester of an execution cannot approve it" in told
    assert fake_slack.calls("chat.update") == []
    assert _state(fetch, execution_id)["state"] == "pending_approval"


@pytest.mark.parametrize("extra_settings", [{**WEBHOOKS, "medic_slack_approvers": [DAVE]}])
def test_only_the_first_decision_counts_a_second_click_says_already_decided(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    requested: Request,
    fetch: Callable[[str], Any],
) -> None:
    requested.click(slack, ACCEPT_ACTION, BOB)
    fake_slack.wait_for("chat.update")

    # DAVE approves every team's playbooks, but BOB was first; a replayed click too.
    requested.click(slack, DECLINE_ACTION, DAVE)
    requested.click(slack, ACCEPT_ACTION, BOB)

    told = _told(fake_slack, 2)
    assert len(told) == 2
    for text in told:
        assert "already decided" in text and f"accepted by <@{BOB}>" in text
    assert len(fake_slack.calls("chat.update")) == 1
    execution = _state(fetch, requested.execution_id)
    assert (execution["state"], execution["decided_by"]) == ("running", f"slack:{BOB}")


def test_a_click_after_the_request_expired_changes_nothing(
    medic: MedicProcess,
    clock: Clock,
    slack: SlackDriver,
    fake_slack: FakeSlack,
    requested: Request,
    fetch: Callable[[str], Any],
) -> None:
    clock.advance(seconds=60 * (medic.settings.medic_approval_expiry_minutes + 1))

    requested.click(slack, ACCEPT_ACTION, BOB)

    [told] = _told(fake_slack)
    assert "expired" in told
    assert fake_slack.calls("chat.update") == []
    assert _state(fetch, requested.execution_id)["decided_by"] is None


def test_a_button_without_a_valid_execution_is_explained_never_a_500(
    slack: SlackDriver, fake_slack: FakeSlack, requested: Request
) -> None:
    token = button(requested.blocks, ACCEPT_ACTION)["value"].rsplit(":", 1)[1]
    slack.click(ACCEPT_ACTION, "not-a-number", user_id=BOB, blocks=requested.blocks)
    # A bare id (what buttons carried before they named the request) decides nothing.
    slack.click(ACCEPT_ACTION, str(requested.execution_id), user_id=BOB, blocks=requested.blocks)
    slack.click(DECLINE_ACTION, f"999999:1:{token}", user_id=BOB, blocks=requested.blocks)

    told = _told(fake_slack, 3)
    assert sum("does not name a current approval request" in text for text in told) == 2
    assert any("no execution with id 999999" in text for text in told)
    assert fake_slack.calls("chat.update") == []


@pytest.mark.parametrize("extra_settings", [{**WEBHOOKS, "medic_slack_operators": [BOB]}])
def test_approvers_decide_even_when_they_are_not_operators(
    slack: SlackDriver, fake_slack: FakeSlack, requested: Request, fetch: Callable[[str], Any]
) -> None:
    """MEDIC_SLACK_OPERATORS limits who acts; who decides is the approvers' list."""
    assert "Only Medic operators may run playbooks" in slack.reply("run restart-worker worker-1")

    requested.click(slack, DECLINE_ACTION, BOB)
    fake_slack.wait_for("chat.update")
    assert _state(fetch, requested.execution_id)["state"] == "cancelled"


def test_run_starts_the_playbook_as_the_slack_user_and_posts_the_request(
    slack: SlackDriver,
    payments: dict[str, Any],
    deliver: Callable[[int], Request],
    fetch: Callable[[str], Any],
    audit: Callable[[str], list[Any]],
) -> None:
    answer = slack.reply("run restart-worker worker-1")

    assert "restart-worker" in answer and "waiting for approval" in answer
    assert f"in <#{TEAM_CHANNEL}>" in answer, "the request waits in the team's channel"
    execution_id = int(answer.split("#", 1)[1].split()[0])
    execution = _state(fetch, execution_id)
    assert execution["state"] == "pending_approval"
    assert (execution["requested_by"], execution["front_door"]) == (f"slack:{ALICE}", "slack")
    assert execution["service_id"] == payments["service_id"]
    [entry] = audit("execution.start")
    assert entry.actor == f"slack:{ALICE}"
    request = deliver(execution_id)
    assert action_ids(request.blocks) == [ACCEPT_ACTION, DECLINE_ACTION]


def test_run_without_a_service_waits_in_the_default_channel(
    slack: SlackDriver, payments: dict[str, Any]
) -> None:
    answer = slack.reply("run restart-worker")  # typed in CHANNEL, the default channel

    assert "waiting for approval in this channel" in answer
    assert CHANNEL not in answer


def test_run_with_no_approval_needed_says_it_is_running(
    slack: SlackDriver,
    payments: dict[str, Any],
    apply_playbook: Callable[[str], dict[str, Any]],
    webhook_receiver: Receiver,
    fetch: Callable[[str], Any],
) -> None:
    apply_playbook(
        PLAYBOOK.format(url=webhook_receiver.url)
        .replace("restart-worker", "poke-worker")
        .replace("approval: required", "approval: none")
    )

    answer = slack.reply("run poke-worker worker-1")

    assert "poke-worker" in answer and "is running" in answer
    execution_id = int(answer.split("#", 1)[1].split()[0])
    assert _state(fetch, execution_id)["state"] == "running"


def test_run_errors_are_friendly(
    slack: SlackDriver, payments: dict[str, Any], fetch: Callable[[str], Any]
) -> None:
    answer = slack.reply("run nope")
    assert "no playbook named 'nope'" in answer and "`restart-worker`" in answer

    answer = slack.reply("run restart-worker ghost")
    assert "no service 'ghost' is registered" in answer

    assert "Usage: `/medic run" in slack.reply("run")
    assert "Usage: `/medic run" in slack.reply("run a b c")


def test_the_circuit_breaker_refusal_is_explained(
    medic: MedicProcess, slack: SlackDriver, payments: dict[str, Any]
) -> None:
    for _ in range(medic.settings.medic_playbook_max_executions_per_hour):
        assert "waiting for approval" in slack.reply("run restart-worker worker-1")

    answer = slack.reply("run restart-worker worker-1")

    assert answer.startswith(":no_entry: Not started: circuit breaker")


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("run restart-worker", Run("restart-worker")),
        ("run restart-worker worker-1", Run("restart-worker", "worker-1")),
        ("RUN  restart-worker   worker-1 ", Run("restart-worker", "worker-1")),
    ],
)
def test_run_parses(text: str, command: Run) -> None:
    assert parse(text) == command


def test_a_request_delivered_after_someone_decided_has_no_buttons(
    medic: MedicProcess, fake_slack: FakeSlack
) -> None:
    now = datetime.now(UTC)
    facts = ExecutionFacts(
        execution_id=7,
        playbook="restart-worker",
        version=1,
        description=None,
        steps=["restart (webhook)"],
        requested_by="mcp-assistant",
        front_door="mcp",
        reason=None,
        state="cancelled",
        approval="required",
        approval_deadline=now,
        decided_by=f"slack:{BOB}",
        decided_at=now,
    )
    message = Message(
        kind="execution.approval_requested",
        notification_id=1,
        created_at=now,
        medic_url="http://medic.test",
        execution=facts,
        slack_channel=TEAM_CHANNEL,
    )

    outcome = SlackSender(medic.settings).send(Target("slack", "slack"), message)

    assert outcome.ok and outcome.reference["channel"] == TEAM_CHANNEL
    shown = fake_slack.message(TEAM_CHANNEL, outcome.reference["ts"])
    assert not action_ids(shown["blocks"])
    assert f"*Declined* by <@{BOB}>" in str(shown["blocks"])
    assert "via an AI assistant (MCP)" in str(shown["blocks"])
