"""Microsoft Teams, Google Chat, Mattermost, Telegram and ntfy against fakes of their
APIs: what each receives, that hostile names and reasons stay inert text, and how the
API's answers map to outcomes."""

from __future__ import annotations

from typing import Any

from medic.notify.google_chat import GoogleChatSender
from medic.notify.mattermost import MattermostSender
from medic.notify.message import Message, Target
from medic.notify.ntfy import NtfySender
from medic.notify.teams import TeamsSender
from medic.notify.telegram import TelegramSender
from tests.fakes.channels import (
    FakeGoogleChat,
    FakeMattermost,
    FakeNtfy,
    FakeTeams,
    FakeTelegram,
)
from tests.notify.channels.conftest import HOSTILE_NAME, channel_settings
from tests.notify.conftest import MakeMessage


def target(kind: str, **config: Any) -> Target:
    return Target(name=f"ops-{kind}", kind=kind, config=config)


def _texts(element: Any) -> list[tuple[str, str]]:
    """(element type, text) of every text in an Adaptive Card."""
    found = []
    if isinstance(element, dict):
        if isinstance(element.get("text"), str):
            found.append((element.get("type", ""), element["text"]))
        for value in element.values():
            found += _texts(value)
    elif isinstance(element, list):
        for item in element:
            found += _texts(item)
    return found


# Microsoft Teams


def test_teams_gets_an_adaptive_card_with_the_facts_and_links(
    fake_teams: FakeTeams, make_message: MakeMessage
) -> None:
    message = make_message("alert.opened")
    outcome = TeamsSender(channel_settings(medic_extra_ca_bundle=fake_teams.ca_path)).send(
        target("msteams", url=fake_teams.webhook_url), message
    )
    assert (outcome.ok, outcome.status_code) == (True, 202)
    [card] = fake_teams.accepted
    texts = [text for _, text in _texts(card["body"])]
    assert texts[0] == message.summary()
    assert "no heartbeat for 12 minutes (interval 5m)" in texts
    assert texts[texts.index("Team: ") : texts.index("Team: ") + 2] == ["Team: ", "data"]
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open in Medic",
            "url": "https://medic.example.com/v2/services/7",
        },
        {
            "type": "Action.OpenUrl",
            "title": "Runbook",
            "url": "https://wiki.example.com/runbooks/etl",
        },
    ]


def test_teams_shows_hostile_text_verbatim_as_text_runs(
    fake_teams: FakeTeams, hostile: Message
) -> None:
    assert (
        TeamsSender(channel_settings(medic_extra_ca_bundle=fake_teams.ca_path))
        .send(target("msteams", url=fake_teams.webhook_url), hostile)
        .ok
    )
    [card] = fake_teams.accepted
    # Only TextRuns carry text: Adaptive Cards render them without Markdown, and without
    # msteams.entities nothing is a mention.
    assert {kind for kind, _ in _texts(card["body"])} == {"TextRun"}
    assert "msteams" not in card or "entities" not in card["msteams"]
    assert any(HOSTILE_NAME in text for _, text in _texts(card["body"]))
    assert [action["title"] for action in card["actions"]] == ["Open in Medic"], (
        "no javascript: runbook"
    )


def test_teams_wrong_signature_is_refused(fake_teams: FakeTeams, make_message: MakeMessage) -> None:
    url = fake_teams.webhook_url.replace(FakeTeams.SIG, "forged")
    outcome = TeamsSender(channel_settings(medic_extra_ca_bundle=fake_teams.ca_path)).send(
        target("msteams", url=url), make_message()
    )
    assert (outcome.ok, outcome.retryable, outcome.status_code) == (False, False, 401)


# Google Chat


def test_google_chat_gets_the_summary_facts_and_links(
    fake_google_chat: FakeGoogleChat, make_message: MakeMessage
) -> None:
    outcome = GoogleChatSender(
        channel_settings(medic_extra_ca_bundle=fake_google_chat.ca_path)
    ).send(target("google_chat", url=fake_google_chat.webhook_url), make_message("alert.resolved"))
    assert (outcome.ok, outcome.status_code) == (True, 200)
    [body] = fake_google_chat.accepted
    lines = body["text"].splitlines()
    assert lines[0] == "*ETL recovered*"
    assert "*Team:* data" in lines
    assert "Open in Medic: https://medic.example.com/v2/services/7" in lines


def test_google_chat_hostile_text_cannot_mention_or_disguise_a_link(
    fake_google_chat: FakeGoogleChat, hostile: Message
) -> None:
    sender = GoogleChatSender(channel_settings(medic_extra_ca_bundle=fake_google_chat.ca_path))
    assert sender.send(target("google_chat", url=fake_google_chat.webhook_url), hostile).ok
    assert fake_google_chat.markup() == []
    text = fake_google_chat.accepted[0]["text"]
    assert "@channel" not in text and "@all" not in text and "@here" not in text
    assert "\u2039users/all\u203a" in text, "still readable"
    assert "javascript:" not in text


def test_google_chat_wrong_token_is_refused_and_429_retried(
    fake_google_chat: FakeGoogleChat, make_message: MakeMessage
) -> None:
    sender = GoogleChatSender(channel_settings(medic_extra_ca_bundle=fake_google_chat.ca_path))
    forged = target("google_chat", url=fake_google_chat.webhook_url.replace("chat-t0ken", "x"))
    refused = sender.send(forged, make_message())
    assert (refused.ok, refused.retryable, refused.status_code) == (False, False, 401)
    fake_google_chat.fail_next(429)
    throttled = sender.send(target("google_chat", url=fake_google_chat.webhook_url), make_message())
    assert (throttled.ok, throttled.retryable, throttled.status_code) == (False, True, 429)


# Mattermost


def test_mattermost_posts_markdown_under_the_configured_name(
    fake_mattermost: FakeMattermost, make_message: MakeMessage
) -> None:
    config = {"url": fake_mattermost.webhook_url, "username": "medic-bot", "channel": "ops"}
    outcome = MattermostSender(channel_settings()).send(
        target("mattermost", **config), make_message()
    )
    assert outcome.ok, outcome.error
    [post] = fake_mattermost.accepted
    assert (post["username"], post["channel"]) == ("medic-bot", "ops")
    lines = post["text"].splitlines()
    assert lines[0].startswith(":red_circle: **ETL is DOWN\\: no heartbeat")
    assert "**Team:** data" in lines
    assert lines[-1] == (
        "[Open in Medic](<https://medic.example.com/v2/services/7>) · "
        "[Runbook](<https://wiki.example.com/runbooks/etl>)"
    )


def test_mattermost_hostile_text_is_escaped_and_mentions_nobody(
    fake_mattermost: FakeMattermost, hostile: Message
) -> None:
    sender = MattermostSender(channel_settings())
    assert sender.send(target("mattermost", url=fake_mattermost.webhook_url), hostile).ok
    assert fake_mattermost.mentions() == []
    text = fake_mattermost.accepted[0]["text"]
    assert "[login](https://evil.example)" not in text
    assert "\\[login\\]\\(https\\:" in text
    assert "\n#" not in text, "a reason cannot start a heading"
    assert "javascript" not in text


# Telegram


def test_telegram_sends_plain_text_to_the_chat(
    fake_telegram: FakeTelegram, make_message: MakeMessage
) -> None:
    sender = TelegramSender(channel_settings(telegram_api_base_url=fake_telegram.url))
    chat = target("telegram", bot_token=FakeTelegram.BOT_TOKEN, chat_id=-1001234567890)
    assert sender.send(chat, make_message("alert.opened")).ok
    assert sender.send(chat, make_message("alert.resolved")).ok
    opened, resolved = fake_telegram.accepted
    assert "parse_mode" not in opened, "plain text: nothing in it is markup"
    assert opened["text"].startswith("🔴 ETL is DOWN: no heartbeat for 12 minutes")
    assert "Team: data" in opened["text"].splitlines()
    assert (opened["disable_notification"], resolved["disable_notification"]) == (False, True)
    assert resolved["text"].startswith("✅ ETL recovered")


def test_telegram_hostile_text_mentions_nobody(
    fake_telegram: FakeTelegram, hostile: Message
) -> None:
    sender = TelegramSender(channel_settings(telegram_api_base_url=fake_telegram.url))
    chat = target("telegram", bot_token=FakeTelegram.BOT_TOKEN, chat_id="@medic_alerts")
    assert sender.send(chat, hostile).ok
    assert fake_telegram.mentions() == []


def test_telegram_errors_never_show_the_bot_token(
    fake_telegram: FakeTelegram, make_message: MakeMessage
) -> None:
    sender = TelegramSender(channel_settings(telegram_api_base_url=fake_telegram.url))
    wrong_chat = target("telegram", bot_token=FakeTelegram.BOT_TOKEN, chat_id=42)
    refused = sender.send(wrong_chat, make_message())
    assert (refused.ok, refused.retryable, refused.status_code) == (False, False, 400)
    assert "chat not found" in (refused.error or "")
    unreachable = TelegramSender(channel_settings(telegram_api_base_url="http://127.0.0.1:9"))
    failed = unreachable.send(wrong_chat, make_message())
    assert not failed.ok and failed.retryable
    assert FakeTelegram.BOT_TOKEN not in (failed.error or "")


# ntfy


def test_ntfy_publishes_with_title_priority_tags_and_click(
    fake_ntfy: FakeNtfy, make_message: MakeMessage
) -> None:
    topic = target("ntfy", server=fake_ntfy.url, topic=FakeNtfy.TOPIC, token=FakeNtfy.TOKEN)
    assert (
        NtfySender(channel_settings())
        .send(topic, make_message(service_overrides={"priority": "p1"}))
        .ok
    )
    [sent] = fake_ntfy.accepted
    assert sent["title"] == "ETL is DOWN: no heartbeat for 12 minutes (interval 5m)"
    assert (sent["priority"], sent["tags"], sent["markdown"]) == ("5", "rotating_light", None)
    assert sent["click"] == "https://medic.example.com/v2/services/7"
    assert "Team: data" in sent["message"].splitlines()


def test_ntfy_title_is_one_line_and_any_script(
    fake_ntfy: FakeNtfy, make_message: MakeMessage
) -> None:
    name = "Überwachung — 夜間バッチ\r\nX-Injected: yes"
    message = make_message(service_overrides={"service_name": name, "state_reason": None})
    assert (
        NtfySender(channel_settings())
        .send(target("ntfy", server=fake_ntfy.url, topic="open-topic"), message)
        .ok
    )
    [sent] = fake_ntfy.accepted
    assert sent["title"] == "Überwachung — 夜間バッチ X-Injected: yes is DOWN"
    assert "x-injected" not in fake_ntfy.requests[0].headers


def test_ntfy_protected_topic_without_the_token_is_refused(
    fake_ntfy: FakeNtfy, make_message: MakeMessage
) -> None:
    outcome = NtfySender(channel_settings()).send(
        target("ntfy", server=fake_ntfy.url, topic=FakeNtfy.TOPIC), make_message()
    )
    assert (outcome.ok, outcome.retryable, outcome.status_code) == (False, False, 403)


def test_chat_channels_to_private_addresses_are_refused(make_message: MakeMessage) -> None:
    settings = channel_settings(medic_allowed_webhook_hosts=[])
    for sender, config in (
        (TeamsSender(settings), {"url": "https://10.0.0.5/workflows/x"}),
        (GoogleChatSender(settings), {"url": "https://169.254.169.254/v1/spaces/x/messages"}),
        (MattermostSender(settings), {"url": "http://127.0.0.1:8065/hooks/x"}),
        (NtfySender(settings), {"server": "http://192.168.1.2", "topic": "t"}),
    ):
        outcome = sender.send(target("x", **config), make_message())
        assert not outcome.ok and not outcome.retryable
        assert (outcome.error or "").startswith("refused: "), outcome.error
