""" "Run playbook" on an alert message: offered for each playbook whose trigger matches
the service; a click asks for a run through the normal request (approval included) as
the clicking user. The button's value is hostile input: the alert must be open and the
playbook one it offers, checked again when clicked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select

from medic.models import Execution
from medic.notify.blocks.alerts import ACK_ACTION, RUN_PLAYBOOK_ACTIONS
from medic.process import MedicProcess
from tests.fakes.slack import FakeSlack
from tests.postman import Postman
from tests.slack.conftest import ALICE, CHANNEL, SlackDriver, action_ids, button

RUN = RUN_PLAYBOOK_ACTIONS[0]
WEBHOOKS = {"medic_allowed_webhook_hosts": "127.0.0.1"}
PLAYBOOK = """
name: {name}
trigger:
  service_pattern: "{pattern}"
  consecutive_failures: 99
approval: required
steps:
  - name: restart
    type: webhook
    url: "https://127.0.0.1:9/restart"
"""


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    return dict(WEBHOOKS)


@dataclass(frozen=True)
class Posted:
    alert_id: int
    ts: str
    blocks: list[dict[str, Any]]
    text: str

    def click(self, slack: SlackDriver, value: str | None = None, user_id: str = ALICE) -> None:
        slack.click(
            RUN,
            value if value is not None else button(self.blocks, RUN)["value"],
            user_id=user_id,
            message_ts=self.ts,
            blocks=self.blocks,
            text=self.text,
        )


@pytest.fixture
def posted(
    medic: MedicProcess,
    apply_playbook: Callable[[str], dict[str, Any]],
    outage: Callable[..., Any],
    postman: Postman,
    fake_slack: FakeSlack,
) -> Posted:
    """worker-1 is down; its alert posted by the real pipeline (outbox, snapshot, sender)."""
    apply_playbook(PLAYBOOK.format(name="restart-worker", pattern="worker-*"))
    apply_playbook(PLAYBOOK.format(name="vacuum-db", pattern="db-*"))
    outage("worker-1")
    postman.deliver()
    [post] = fake_slack.calls("chat.postMessage")
    assert post.body["channel"] == CHANNEL
    [(_, ts)] = list(fake_slack.messages)
    shown = fake_slack.message(CHANNEL, ts)
    assert executions(medic) == []  # the trigger's count is not reached: nothing ran by itself
    value = button(shown["blocks"], RUN)["value"]
    return Posted(int(value.split(":")[0]), shown["ts"], shown["blocks"], shown["text"])


def executions(medic: MedicProcess) -> list[Execution]:
    with medic.db.session() as session:
        return list(session.exec(select(Execution)).all())


def told(fake_slack: FakeSlack, count: int = 1) -> list[str]:
    fake_slack.wait_for("response_url", count)
    return [str(c.body["text"]) for c in fake_slack.responses() if c.path.endswith("/click")]


def test_the_alert_offers_the_matching_playbook_and_a_click_asks_for_approval(
    medic: MedicProcess,
    slack: SlackDriver,
    fake_slack: FakeSlack,
    posted: Posted,
    audit: Callable[[str], list[Any]],
) -> None:
    assert action_ids(posted.blocks).count(RUN) == 1
    assert ACK_ACTION in action_ids(posted.blocks)
    run = button(posted.blocks, RUN)
    assert run["text"]["text"] == "Run restart-worker"
    assert run["value"] == f"{posted.alert_id}:restart-worker"

    posted.click(slack)

    [update] = fake_slack.wait_for("chat.update")
    [execution] = executions(medic)
    assert execution.playbook_name == "restart-worker"
    assert execution.state == "pending_approval"  # the normal approval path
    assert execution.front_door == "slack"
    assert execution.requested_by.endswith(f"/{ALICE}")  # the principal slack:<team>/<user>
    assert execution.alert_id is None  # a person's request, not the trigger's start
    assert f"asked to run playbook `restart-worker` (execution #{execution.execution_id})" in str(
        update.body["blocks"]
    )
    assert RUN not in action_ids(update.body["blocks"])
    [entry] = audit("execution.start")
    assert entry.actor == f"slack:{ALICE}"


@pytest.mark.parametrize("extra_settings", [{**WEBHOOKS, "medic_slack_operators": ["U0BOSS"]}])
def test_a_user_who_is_not_an_operator_cannot_run_it(
    medic: MedicProcess, slack: SlackDriver, fake_slack: FakeSlack, posted: Posted
) -> None:
    posted.click(slack, user_id=ALICE)

    [refusal] = told(fake_slack)
    assert refusal.startswith(":no_entry: Only Medic operators may run playbooks")
    assert executions(medic) == []


def test_a_forged_value_runs_nothing(
    medic: MedicProcess,
    slack: SlackDriver,
    fake_slack: FakeSlack,
    posted: Posted,
    close_alert: Callable[[int], None],
) -> None:
    posted.click(slack, value=f"{posted.alert_id}:vacuum-db")  # exists, does not match
    posted.click(slack, value=f"{posted.alert_id}:no-such-playbook")
    posted.click(slack, value="restart-worker")
    posted.click(slack, value="999999:restart-worker")
    close_alert(posted.alert_id)
    posted.click(slack)

    answers = told(fake_slack, 5)
    assert sum("is not offered for 'worker-1'" in text for text in answers) == 2
    assert any("names no alert and playbook" in text for text in answers)
    assert any("no alert with id 999999" in text for text in answers)
    assert any(f"alert {posted.alert_id} is closed" in text for text in answers)
    assert executions(medic) == []
    assert fake_slack.calls("chat.update") == []
