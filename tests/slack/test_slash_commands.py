"""`/medic …` in Slack: signed by Slack, run as the Slack user through the operations
layer, answered ephemerally; unsigned, stale or unconfigured requests are refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medic.bot import app as slack_app
from medic.bot.commands import HELP_TEXT
from tests.fakes.slack import FakeSlack, SlackSigner, command_body
from tests.slack.conftest import ALICE, SlackDriver

OPERATOR = "U0BOSS"


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _near(moment: datetime, expected: datetime, slack: float = 60) -> bool:
    return abs((moment - expected).total_seconds()) < slack


def test_mute_mutes_the_service_as_the_slack_user_and_says_until_when(
    slack: SlackDriver,
    register: Callable[..., dict[str, Any]],
    fetch: Callable[[str], Any],
    audit: Callable[[str], list[Any]],
) -> None:
    service = register("nightly-backup")

    answer = slack.reply("mute nightly-backup 2h deploying v2.3")

    assert answer.startswith(":mute: Muted *backups* (`nightly-backup`) until <!date^")
    assert "(deploying v2.3)" in answer
    now = fetch(f"/v2/services/{service['service_id']}")
    assert now["muted"] is True
    assert now["mute_reason"] == "deploying v2.3"
    assert _near(_at(now["muted_until"]), datetime.now(UTC) + timedelta(hours=2))
    [entry] = audit("service.mute")
    assert (entry.actor, entry.front_door) == (f"slack:{ALICE}", "slack")


def test_mute_without_a_duration_lasts_alert_auto_unmute_hours(
    slack: SlackDriver, register: Callable[..., dict[str, Any]], fetch: Callable[[str], Any]
) -> None:
    service = register("nightly-backup")

    slack.reply("mute nightly-backup")

    muted_until = _at(fetch(f"/v2/services/{service['service_id']}")["muted_until"])
    assert _near(muted_until, datetime.now(UTC) + timedelta(hours=24))


def test_unmute_resumes_notifications(
    slack: SlackDriver, register: Callable[..., dict[str, Any]], fetch: Callable[[str], Any]
) -> None:
    service = register("nightly-backup")
    slack.reply("mute nightly-backup 1h")

    answer = slack.reply("unmute nightly-backup")

    assert answer.startswith(":loud_sound: Unmuted *backups*")
    assert fetch(f"/v2/services/{service['service_id']}")["muted"] is False


def test_status_of_one_service_and_of_all(
    slack: SlackDriver, register: Callable[..., dict[str, Any]], open_alert: Callable[[int], int]
) -> None:
    register("nightly-backup", runbook="https://wiki.example.com/backups")
    register("etl", service_name="etl")

    one = slack.reply("status nightly-backup")
    assert "*backups* (`nightly-backup`) — :white_circle: new" in one
    assert "last heartbeat never" in one
    assert "<https://wiki.example.com/backups|Runbook>" in one

    everything = slack.reply("status")
    assert "0 up · :red_circle: 0 down · :white_circle: 2 waiting" in everything
    assert "0 open alerts" in everything


def test_list_shows_services_optionally_for_one_team(
    slack: SlackDriver, register: Callable[..., dict[str, Any]]
) -> None:
    register("nightly-backup", team="storage")
    register("etl", service_name="etl", team="data")

    assert "`nightly-backup`" in slack.reply("list") and "*etl*" in slack.reply("list")
    only_data = slack.reply("list data")
    assert "*etl*" in only_data and "nightly-backup" not in only_data
    assert slack.reply("list nobody") == "No services are registered for team nobody."


def test_alerts_lists_open_alerts_and_ack_acknowledges_one(
    slack: SlackDriver,
    register: Callable[..., dict[str, Any]],
    open_alert: Callable[[int], int],
    fetch: Callable[[str], Any],
    audit: Callable[[str], list[Any]],
) -> None:
    alert_id = open_alert(register("nightly-backup")["service_id"])

    listing = slack.reply("alerts")
    assert f"• #{alert_id} *backups* (`nightly-backup`) — since <!date^" in listing

    assert slack.reply(f"ack {alert_id}") == f":eyes: Alert #{alert_id} acknowledged; it is yours."
    assert fetch(f"/v2/alerts/{alert_id}")["acknowledged_by"] == f"slack:{ALICE}"
    assert audit("alert.acknowledge")[0].front_door == "slack"
    assert f"acknowledged by <@{ALICE}>" in slack.reply("alerts")
    assert "already acknowledged by <@U0ALICE>" in slack.reply(f"ack {alert_id}", user_id="U0BOB")


def test_no_open_alerts_is_good_news(slack: SlackDriver) -> None:
    assert slack.reply("alerts") == ":white_check_mark: No open alerts."


def test_maintenance_all_opens_a_window_for_every_service_from_now(
    slack: SlackDriver, fetch: Callable[[str], Any]
) -> None:
    answer = slack.reply("maintenance all 30m deploy")

    assert answer.startswith(":construction: Maintenance window #1 is open for all services until")
    [window] = fetch("/v2/maintenance-windows")["items"]
    assert (window["name"], window["reason"], window["service_ids"]) == ("deploy", "deploy", None)
    assert window["created_by"] == f"slack:{ALICE}"
    assert window["open_now"] is True
    length = _at(window["ends_at"]) - _at(window["starts_at"])
    assert length == timedelta(minutes=30)


def test_maintenance_of_one_service(
    slack: SlackDriver, register: Callable[..., dict[str, Any]], fetch: Callable[[str], Any]
) -> None:
    service = register("nightly-backup")

    assert "open for *backups*" in slack.reply("maintenance nightly-backup 2h")

    [window] = fetch("/v2/maintenance-windows")["items"]
    assert window["service_ids"] == [service["service_id"]]
    assert window["name"] == "maintenance of nightly-backup"


def test_a_maintenance_duration_is_judged_by_the_window_command(
    slack: SlackDriver, fetch: Callable[[str], Any]
) -> None:
    assert "duration must be positive" in slack.reply("maintenance all 0m")
    assert "at most 366 days" in slack.reply("maintenance all 400d")
    assert fetch("/v2/maintenance-windows")["items"] == []


def test_unknown_input_gets_the_help(slack: SlackDriver) -> None:
    answer = slack.reply("reboot production")
    assert answer.startswith("I don't know `reboot`.")
    assert "`/medic mute <name> [duration] [reason…]`" in answer


def test_a_mistake_is_explained_not_a_failure(slack: SlackDriver) -> None:
    assert slack.reply("mute no-such-service 1h") == (
        ":warning: no service 'no-such-service' is registered"
    )
    assert slack.reply("ack 999") == ":warning: no alert with id 999"


def test_a_bad_signature_is_refused(
    slack: SlackDriver, register: Callable[..., Any], fetch: Callable[[str], Any]
) -> None:
    service = register("nightly-backup")
    body = command_body("mute nightly-backup")
    headers = SlackSigner("not-the-secret").headers(body)

    response = slack.client.post("/slack/events", content=body, headers=headers)

    assert response.status_code == 401
    assert fetch(f"/v2/services/{service['service_id']}")["muted"] is False


def test_a_request_signed_more_than_five_minutes_ago_is_refused(slack: SlackDriver) -> None:
    assert slack.command("help", age_seconds=6 * 60).status_code == 401
    assert slack.command("help", age_seconds=60).status_code == 200


def test_an_unsigned_request_is_refused(slack: SlackDriver) -> None:
    body = command_body("help")
    response = slack.client.post(
        "/slack/events",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401


@pytest.mark.parametrize("extra_settings", [{"slack_signing_secret": None}])
def test_without_a_signing_secret_every_slack_request_is_refused(
    client: TestClient, slack_signer: SlackSigner
) -> None:
    """Slack off is a route that does not exist (404, with how to turn it on), not an
    outage: a 5xx would make Slack retry and page whoever watches error rates."""
    body = command_body("help")

    response = client.post("/slack/events", content=body, headers=slack_signer.headers(body))

    assert response.status_code == 404
    assert "set SLACK_SIGNING_SECRET" in response.json()["message"]


@pytest.mark.parametrize("extra_settings", [{"medic_slack_operators": [OPERATOR]}])
def test_only_operators_may_change_things_when_operators_are_configured(
    slack: SlackDriver, register: Callable[..., dict[str, Any]], fetch: Callable[[str], Any]
) -> None:
    service = register("nightly-backup")

    refused = slack.reply("mute nightly-backup 1h", user_id=ALICE)

    assert refused.startswith(":no_entry: Only Medic operators may mute services from Slack.")
    assert f"<@{OPERATOR}>" in refused
    assert fetch(f"/v2/services/{service['service_id']}")["muted"] is False
    assert "*backups*" in slack.reply("status nightly-backup", user_id=ALICE)
    assert slack.reply("mute nightly-backup 1h", user_id=OPERATOR).startswith(":mute: Muted")


def test_a_slow_answer_follows_through_the_response_url(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    register: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register("nightly-backup")
    monkeypatch.setattr(slack_app, "ACK_BUDGET_SECONDS", 0)

    answer = slack.command("mute nightly-backup 1h").json()
    assert answer == {"response_type": "ephemeral", "text": slack_app.WORKING}

    [late] = fake_slack.wait_for("response_url")
    assert late.body["response_type"] == "ephemeral"
    assert late.body["text"].startswith(":mute: Muted *backups*")


def test_url_verification_is_answered(slack: SlackDriver) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV"})
    headers = slack.signer.headers(body) | {"Content-Type": "application/json"}

    response = slack.client.post("/slack/events", content=body, headers=headers)

    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}


def test_a_mention_is_answered_with_the_help_in_a_thread(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    event = {
        "type": "app_mention",
        "user": ALICE,
        "text": "<@U0MEDICBOT> what can you do?",
        "ts": "1700000100.000200",
        "channel": "C0ALERTS",
    }
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0MEDIC",
            "api_app_id": "A0MEDIC",
            "event": event,
            "event_id": "Ev0MEDIC",
            "event_time": 1700000100,
            "authorizations": [{"team_id": "T0MEDIC", "user_id": "U0MEDICBOT", "is_bot": True}],
        }
    )
    headers = slack.signer.headers(body) | {"Content-Type": "application/json"}

    assert slack.client.post("/slack/events", content=body, headers=headers).status_code == 200

    [post] = fake_slack.wait_for("chat.postMessage")
    assert (post.body["channel"], post.body["thread_ts"]) == ("C0ALERTS", event["ts"])
    assert post.body["text"] == HELP_TEXT
