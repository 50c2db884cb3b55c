"""The buttons on an alert message: each click acts as the clicking Slack user, then the
message itself says who did what; a click that cannot work is explained to the clicker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from medic.notify.blocks.alerts import ACK_ACTION, MUTE_ACTION, UNMUTE_ACTION
from medic.notify.message import Target
from medic.notify.slack import SlackSender
from medic.process import MedicProcess
from tests.fakes.slack import FakeSlack
from tests.slack.conftest import ALICE, CHANNEL, SlackDriver, action_ids, button


@dataclass(frozen=True)
class PostedAlert:
    service_id: int
    alert_id: int
    ts: str
    blocks: list[dict[str, Any]]
    text: str

    def click(self, slack: SlackDriver, action_id: str, user_id: str = ALICE) -> None:
        """Click a button of this message, as Slack would post it."""
        value = button(self.blocks, action_id)["value"]
        slack.click(
            action_id,
            value,
            user_id=user_id,
            message_ts=self.ts,
            blocks=self.blocks,
            text=self.text,
        )


@pytest.fixture
def posted_alert(
    medic: MedicProcess,
    fake_slack: FakeSlack,
    register: Callable[..., dict[str, Any]],
    open_alert: Callable[[int], int],
    alert_message: Callable[..., Any],
) -> PostedAlert:
    """An open alert on `nightly-backup`, posted to the channel by the Slack sender."""
    service_id = register("nightly-backup")["service_id"]
    alert_id = open_alert(service_id)
    outcome = SlackSender(medic.settings).send(Target("slack", "slack"), alert_message(alert_id))
    assert outcome.ok, outcome.error
    posted = fake_slack.message(CHANNEL, outcome.reference["ts"])
    return PostedAlert(service_id, alert_id, posted["ts"], posted["blocks"], posted["text"])


def _edit(fake_slack: FakeSlack, posted: PostedAlert) -> dict[str, Any]:
    [update] = fake_slack.wait_for("chat.update")
    assert (update.body["channel"], update.body["ts"]) == (CHANNEL, posted.ts)
    return update.body


def test_mute_one_hour_mutes_the_service_and_says_so_on_the_message(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    posted_alert: PostedAlert,
    fetch: Callable[[str], Any],
    audit: Callable[[str], list[Any]],
) -> None:
    posted_alert.click(slack, MUTE_ACTION)

    edited = _edit(fake_slack, posted_alert)
    service = fetch(f"/v2/services/{posted_alert.service_id}")
    assert service["muted"] is True
    muted_until = datetime.fromisoformat(service["muted_until"])
    assert abs(muted_until - (datetime.now(UTC) + timedelta(hours=1))) < timedelta(minutes=1)
    [entry] = audit("service.mute")
    assert (entry.actor, entry.front_door) == (f"slack:{ALICE}", "slack")
    activity = edited["blocks"][-1]["elements"][-1]["text"]
    assert activity.startswith(
        f":mute: Muted by <@{ALICE}> until <!date^{int(muted_until.timestamp())}^"
    )
    assert action_ids(edited["blocks"]) == [ACK_ACTION, MUTE_ACTION, UNMUTE_ACTION]
    assert edited["blocks"][0] == posted_alert.blocks[0]


def test_acknowledge_acknowledges_the_alert_and_retires_its_button(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    posted_alert: PostedAlert,
    fetch: Callable[[str], Any],
) -> None:
    posted_alert.click(slack, ACK_ACTION)

    edited = _edit(fake_slack, posted_alert)
    assert fetch(f"/v2/alerts/{posted_alert.alert_id}")["acknowledged_by"] == f"slack:{ALICE}"
    assert action_ids(edited["blocks"]) == [MUTE_ACTION, UNMUTE_ACTION]
    assert f"Acknowledged by <@{ALICE}>" in edited["blocks"][-1]["elements"][-1]["text"]


def test_each_action_adds_a_line_to_the_message(
    slack: SlackDriver, fake_slack: FakeSlack, posted_alert: PostedAlert
) -> None:
    posted_alert.click(slack, MUTE_ACTION)
    muted = _edit(fake_slack, posted_alert)
    again = PostedAlert(
        posted_alert.service_id, posted_alert.alert_id, posted_alert.ts, muted["blocks"], ""
    )

    again.click(slack, UNMUTE_ACTION, user_id="U0BOB")

    unmuted = fake_slack.wait_for("chat.update", 2)[-1].body
    lines = [element["text"] for element in unmuted["blocks"][-1]["elements"]]
    assert len(lines) == 2
    assert lines[0].startswith(f":mute: Muted by <@{ALICE}>")
    assert lines[1] == ":loud_sound: Unmuted by <@U0BOB>"


def test_a_click_on_a_closed_alert_gets_an_explanation_and_changes_nothing(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    posted_alert: PostedAlert,
    close_alert: Callable[[int], None],
    fetch: Callable[[str], Any],
) -> None:
    close_alert(posted_alert.alert_id)

    posted_alert.click(slack, ACK_ACTION)

    [explanation] = fake_slack.wait_for("response_url")
    assert explanation.body == {
        "text": f":warning: alert {posted_alert.alert_id} is closed; the service recovered",
        "response_type": "ephemeral",
        "replace_original": False,
    }
    assert fake_slack.calls("chat.update") == []
    assert fetch(f"/v2/alerts/{posted_alert.alert_id}")["acknowledged_by"] is None


def test_a_click_for_a_deleted_service_is_explained(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    posted_alert: PostedAlert,
    client: Any,
    admin_headers: dict[str, str],
) -> None:
    response = client.delete(f"/v2/services/{posted_alert.service_id}", headers=admin_headers)
    assert response.status_code in (200, 204), response.text

    posted_alert.click(slack, MUTE_ACTION)

    [explanation] = fake_slack.wait_for("response_url")
    assert explanation.body["text"] == f":warning: no service with id {posted_alert.service_id}"


@pytest.mark.parametrize("extra_settings", [{"medic_slack_operators": ["U0BOSS"]}])
def test_only_operators_may_click_when_operators_are_configured(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    posted_alert: PostedAlert,
    fetch: Callable[[str], Any],
) -> None:
    posted_alert.click(slack, MUTE_ACTION, user_id=ALICE)

    [refusal] = fake_slack.wait_for("response_url")
    assert refusal.body["text"].startswith(":no_entry: Only Medic operators may mute services")
    assert fetch(f"/v2/services/{posted_alert.service_id}")["muted"] is False

    posted_alert.click(slack, MUTE_ACTION, user_id="U0BOSS")

    _edit(fake_slack, posted_alert)
    assert fetch(f"/v2/services/{posted_alert.service_id}")["muted"] is True
