"""The Slack channel sender against the fake Web API: an alert is a message with
buttons, its recovery edits that message, and Slack's answers become outcomes the
delivery engine can act on (retry or give up). No database: a sender never needs one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from medic.config import Settings, load_settings
from medic.notify.blocks.alerts import ACK_ACTION, MUTE_ACTION, UNMUTE_ACTION
from medic.notify.message import AlertFacts, Message, Outcome, ServiceFacts, Target, WindowFacts
from medic.notify.slack import NO_CHANNEL, SlackSender
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.slack.conftest import action_ids, button

SINCE = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
SLACK = Target("team channel", "slack")


def _settings(fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_api_token": BOT_TOKEN,
        "slack_api_base_url": fake.base_url,
        "slack_channel_id": "C0DEFAULT",
        "medic_notify_timeout_seconds": 5,
    }
    return load_settings(_env_file=None, **(values | overrides))


@pytest.fixture
def sender(fake_slack: FakeSlack) -> SlackSender:
    return SlackSender(_settings(fake_slack))


def _message(kind: str = "alert.opened", **fields: Any) -> Message:
    service = ServiceFacts(
        service_id=7,
        heartbeat_name="nightly-backup",
        service_name="Backups",
        team="storage",
        priority="p2",
        runbook="https://wiki.example.com/backups",
        state="down" if kind == "alert.opened" else "up",
        state_reason="no heartbeat since 14:00",
        state_changed_at=SINCE,
        muted=False,
    )
    alert = AlertFacts(
        alert_id=42,
        alert_name="nightly-backup late",
        alert_cycle=1,
        created_date=SINCE,
        closed_date=None if kind == "alert.opened" else SINCE + timedelta(minutes=20),
        active=kind == "alert.opened",
    )
    values: dict[str, Any] = {
        "kind": kind,
        "notification_id": 1,
        "created_at": SINCE,
        "medic_url": "https://medic.example.com",
        "service": service,
        "alert": alert,
        "slack_channel": "C0STORAGE",
    }
    return Message(**(values | fields))


def _texts(blocks: list[dict[str, Any]]) -> str:
    """Every piece of text in a message, to look for facts in."""
    parts: list[str] = []
    for block in blocks:
        parts += [block.get("text", {}).get("text", "")]
        parts += [field["text"] for field in block.get("fields", [])]
        parts += [
            e.get("text", "") for e in block.get("elements", []) if block["type"] == "context"
        ]
    return "\n".join(parts)


def test_an_alert_is_posted_with_its_facts_and_three_buttons(
    sender: SlackSender,
    fake_slack: FakeSlack,
) -> None:
    outcome = sender.send(SLACK, _message())

    [call] = fake_slack.calls("chat.postMessage")
    assert outcome == Outcome.sent(200, channel="C0STORAGE", ts=outcome.reference["ts"])
    assert call.token == BOT_TOKEN
    assert call.body["channel"] == "C0STORAGE"
    assert call.body["text"] == "Backups is DOWN: no heartbeat since 14:00"
    blocks = call.body["blocks"]
    text = _texts(blocks)
    for fact in (
        "*Backups is DOWN*",
        "no heartbeat since 14:00",
        "`nightly-backup`",
        "*Priority:* P2",
        f"<!date^{int(SINCE.timestamp())}^",
        "<https://wiki.example.com/backups|Runbook>",
        "<https://medic.example.com/v2/services/7|Open in Medic>",
    ):
        assert fact in text
    assert action_ids(blocks) == [ACK_ACTION, MUTE_ACTION, UNMUTE_ACTION]
    assert button(blocks, ACK_ACTION)["value"] == "42"
    assert button(blocks, MUTE_ACTION)["value"] == "7"
    assert button(blocks, UNMUTE_ACTION)["value"] == "7"


def test_a_recovery_edits_the_alert_message_in_place(
    sender: SlackSender,
    fake_slack: FakeSlack,
) -> None:
    opened = sender.send(SLACK, _message())

    outcome = sender.send(
        SLACK, _message("alert.resolved", opened_reference=dict(opened.reference))
    )

    assert outcome == Outcome.sent(200, **opened.reference)
    assert len(fake_slack.calls("chat.postMessage")) == 1
    [update] = fake_slack.calls("chat.update")
    assert (update.body["channel"], update.body["ts"]) == (
        opened.reference["channel"],
        opened.reference["ts"],
    )
    assert ":large_green_circle: *Backups recovered* at <!date^" in _texts(update.body["blocks"])
    assert action_ids(update.body["blocks"]) == []


def test_a_recovery_without_the_alert_message_is_posted(
    sender: SlackSender,
    fake_slack: FakeSlack,
) -> None:
    assert sender.send(SLACK, _message("alert.resolved")).ok
    [post] = fake_slack.calls("chat.postMessage")
    assert "*Backups recovered*" in _texts(post.body["blocks"])


def test_a_recovery_whose_alert_message_was_deleted_is_posted(
    sender: SlackSender,
    fake_slack: FakeSlack,
) -> None:
    fake_slack.fail("chat.update", "message_not_found")
    reference = {"channel": "C0STORAGE", "ts": "1700000000.000001"}

    outcome = sender.send(SLACK, _message("alert.resolved", opened_reference=reference))

    assert outcome.ok and outcome.reference["ts"] != reference["ts"]
    assert len(fake_slack.calls("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("target_channel", "team_channel", "posted_to"),
    [
        ("C0TARGET", "C0STORAGE", "C0TARGET"),
        (None, "C0STORAGE", "C0STORAGE"),
        (None, None, "C0DEFAULT"),
    ],
)
def test_the_channel_is_the_targets_else_the_teams_or_default(
    sender: SlackSender,
    fake_slack: FakeSlack,
    target_channel: str | None,
    team_channel: str | None,
    posted_to: str,
) -> None:
    target = Target("slack", "slack", {"channel": target_channel} if target_channel else {})

    sender.send(target, _message(slack_channel=team_channel))

    assert fake_slack.calls("chat.postMessage")[0].body["channel"] == posted_to


def test_no_channel_anywhere_is_refused(
    fake_slack: FakeSlack,
) -> None:
    sender = SlackSender(_settings(fake_slack, slack_channel_id=None))

    outcome = sender.send(SLACK, _message(slack_channel=None))

    assert outcome == Outcome.refused(NO_CHANNEL)
    assert fake_slack.calls() == []


def test_no_bot_token_is_refused(fake_slack: FakeSlack) -> None:
    outcome = SlackSender(_settings(fake_slack, slack_api_token=None)).send(SLACK, _message())
    assert not outcome.ok and not outcome.retryable
    assert "SLACK_BOT_TOKEN" in (outcome.error or "")


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "invalid_auth"])
def test_what_slack_refuses_is_not_retried(
    sender: SlackSender,
    fake_slack: FakeSlack,
    error: str,
) -> None:
    fake_slack.fail("chat.postMessage", error)

    outcome = sender.send(SLACK, _message())

    assert outcome == Outcome.refused(f"Slack refused the message: {error}", 200)


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        ({"status": 500, "raw": "<html>oops</html>"}, "Slack error"),
        ({"status": 503, "error": "service_unavailable"}, "Slack error service_unavailable"),
        ({"status": 429, "error": "ratelimited"}, "Slack error ratelimited (retry after 3 s)"),
        ({"status": 200, "error": "internal_error"}, "Slack error internal_error"),
    ],
)
def test_slack_trouble_is_retried_later(
    sender: SlackSender,
    fake_slack: FakeSlack,
    failure: dict[str, Any],
    expected: str,
) -> None:
    fake_slack.fail("chat.postMessage", **failure)

    outcome = sender.send(SLACK, _message())

    assert not outcome.ok and outcome.retryable
    assert outcome.status_code == failure["status"]
    assert (outcome.error or "").startswith(expected)
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_slack_unreachable_is_retried_later(fake_slack: FakeSlack) -> None:
    settings = _settings(fake_slack)
    fake_slack.server.shutdown()
    fake_slack.server.server_close()

    outcome = SlackSender(settings).send(SLACK, _message())

    assert not outcome.ok and outcome.retryable
    assert (outcome.error or "").startswith("Slack unreachable")


def test_maintenance_windows_are_announced(
    sender: SlackSender,
    fake_slack: FakeSlack,
) -> None:
    window = WindowFacts(
        window_id=3, name="db patching", reason="kernel", service_ids=None, ends_at=SINCE
    )
    started = _message("maintenance.started", service=None, alert=None, window=window)

    assert sender.send(SLACK, started).ok
    assert sender.send(SLACK, replace(started, kind="maintenance.ended")).ok

    first, second = (c.body for c in fake_slack.calls("chat.postMessage"))
    assert first["text"] == "Maintenance window 'db patching' started"
    assert "*Maintenance window db patching started* — until <!date^" in _texts(first["blocks"])
    assert "Reason: kernel" in _texts(first["blocks"])
    assert "Covers all services" in _texts(first["blocks"])
    assert "*Maintenance window db patching ended*" in _texts(second["blocks"])


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
def test_a_team_channel_that_cannot_take_the_alert_falls_back_to_the_default_channel(
    sender: SlackSender, fake_slack: FakeSlack, error: str
) -> None:
    fake_slack.refusing["C0STORAGE"] = error

    outcome = sender.send(SLACK, _message())

    assert outcome.reference["channel"] == "C0DEFAULT", outcome
    assert outcome.reference["fell_back_from"] == "C0STORAGE"
    assert outcome.reference["fell_back_because"] == error
    posted = fake_slack.message("C0DEFAULT", str(outcome.reference["ts"]))
    assert "nightly-backup" in _texts(posted["blocks"])
    assert f"channel `C0STORAGE` refused it (`{error}`)" in _texts(posted["blocks"])


def test_other_errors_and_the_default_channel_itself_do_not_fall_back(
    sender: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.refusing["C0DEFAULT"] = "channel_not_found"

    outcome = sender.send(SLACK, _message(slack_channel="C0DEFAULT"))

    assert outcome.reference.get("channel") is None and "channel_not_found" in str(outcome)


def test_the_end_of_a_deleted_window_names_the_window(
    sender: SlackSender, fake_slack: FakeSlack
) -> None:
    """Deleting an open window tells its end; the row is gone, its name travels along."""
    message = _message(
        "maintenance.ended",
        service=None,
        alert=None,
        window=None,
        details={"window": "db upgrade", "ended_by": "deleted by ops"},
    )

    outcome = sender.send(SLACK, message)

    posted = fake_slack.message("C0STORAGE", str(outcome.reference["ts"]))
    assert posted["text"] == "Maintenance window 'db upgrade' ended"
    assert "unknown service" not in _texts(posted["blocks"])
