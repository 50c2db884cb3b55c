"""Discord webhooks against the HTTP receiver, and email against an aiosmtpd server."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from medic.config import Settings, load_settings
from medic.notify.discord import GREEN, GREY, RED, DiscordSender
from medic.notify.email import EmailSender
from medic.notify.message import Target
from tests.fakes.receiver import Receiver
from tests.fakes.smtp import FakeSMTP
from tests.notify.conftest import OPENED_AT, MakeMessage


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "medic_allowed_webhook_hosts": ["127.0.0.1"],
        "medic_notify_timeout_seconds": 5,
    }
    return load_settings(_env_file=None, **(values | overrides))


def discord(url: str, **config: Any) -> Target:
    return Target(name="ops-discord", kind="discord", config={"url": url, **config})


def mail_to(*addresses: str) -> Target:
    return Target(name="ops-mail", kind="email", config={"to": list(addresses)})


# Discord


def test_discord_payload_has_the_summary_and_an_embed_with_the_facts(
    webhook_receiver: Receiver, make_message: MakeMessage
) -> None:
    webhook_receiver.answer(204)
    message = make_message("alert.opened")
    target = discord(webhook_receiver.url + "/api/webhooks/1/abc", username="Medic")
    outcome = DiscordSender(settings()).send(target, message)
    assert outcome.ok and outcome.status_code == 204
    [request] = webhook_receiver.requests
    assert request.path == "/api/webhooks/1/abc"
    assert request.headers["content-type"] == "application/json"
    body = request.json
    assert body["content"] == message.summary()
    assert body["username"] == "Medic"
    assert body["allowed_mentions"] == {"parse": []}
    [embed] = body["embeds"]
    assert embed["title"] == "ETL is DOWN: no heartbeat for 12 minutes (interval 5m)"
    assert embed["description"] == "no heartbeat for 12 minutes (interval 5m)"
    assert embed["color"] == RED
    assert embed["url"] == "https://medic.example.com/v2/services/7"
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields == {
        "Team": "data",
        "Priority": "p2",
        "Since": f"<t:{int(OPENED_AT.timestamp())}:f>",
        "Runbook": "https://wiki.example.com/runbooks/etl",
    }


def test_discord_colours_recoveries_green_and_maintenance_grey(
    webhook_receiver: Receiver, make_message: MakeMessage
) -> None:
    sender = DiscordSender(settings())
    target = discord(webhook_receiver.url)
    for kind in ("alert.resolved", "maintenance.started"):
        assert sender.send(target, make_message(kind)).ok
    resolved, maintenance = (request.json for request in webhook_receiver.requests)
    assert resolved["embeds"][0]["color"] == GREEN
    assert resolved["content"] == "ETL recovered"
    assert "username" not in resolved
    assert maintenance["embeds"][0]["color"] == GREY
    assert maintenance["content"] == "Maintenance window 'db patching' started"
    assert maintenance["embeds"][0]["description"] == "monthly OS updates"


def test_discord_leaves_out_empty_fields_and_cuts_long_text(
    webhook_receiver: Receiver, make_message: MakeMessage
) -> None:
    message = make_message(service_overrides={"runbook": None, "state_reason": "x" * 5000})
    assert DiscordSender(settings()).send(discord(webhook_receiver.url), message).ok
    body = webhook_receiver.requests[0].json
    embed = body["embeds"][0]
    assert "Runbook" not in {field["name"] for field in embed["fields"]}
    assert len(body["content"]) == 2000
    assert len(embed["title"]) == 256
    assert len(embed["description"]) == 4096


def test_discord_answers_map_like_webhooks(
    webhook_receiver: Receiver, make_message: MakeMessage
) -> None:
    sender = DiscordSender(settings())
    webhook_receiver.answer_sequence([429, 404])
    throttled = sender.send(discord(webhook_receiver.url), make_message())
    gone = sender.send(discord(webhook_receiver.url), make_message())
    assert (throttled.ok, throttled.retryable, throttled.status_code) == (False, True, 429)
    assert (gone.ok, gone.retryable, gone.status_code) == (False, False, 404)


def test_discord_to_a_private_address_is_refused(make_message: MakeMessage) -> None:
    outcome = DiscordSender(settings()).send(
        discord("http://10.0.0.1/api/webhooks/1/x"), make_message()
    )
    assert not outcome.ok and not outcome.retryable
    assert (outcome.error or "").startswith("refused: ")


def test_discord_target_without_url_is_refused(make_message: MakeMessage) -> None:
    outcome = DiscordSender(settings()).send(Target("d", "discord", {}), make_message())
    assert not outcome.ok and not outcome.retryable


# Email


def test_email_is_delivered_with_the_summary_as_subject(
    smtp_server: FakeSMTP, make_message: MakeMessage
) -> None:
    message = make_message("alert.opened")
    sender = EmailSender(settings(**smtp_server.settings()))
    outcome = sender.send(mail_to("oncall@example.com", "Data Team <data@example.com>"), message)
    assert outcome.ok, outcome.error
    [mail] = smtp_server.mails
    assert mail.mail_from == "medic@example.com"
    assert mail.rcpt_tos == ["oncall@example.com", "data@example.com"]
    parsed = mail.message
    assert parsed["Subject"] == message.summary()
    assert parsed["From"] == "Medic <medic@example.com>"
    assert parsed["To"] == "oncall@example.com, Data Team <data@example.com>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Message-ID"] == outcome.reference["message_id"]
    body = parsed.get_content()
    for fact in (
        "Service:         ETL (heartbeat nightly-etl)",
        "Team:            data",
        "Priority:        p2",
        "Since:           2026-11-23 14:05:00 UTC",
        "Reason:          no heartbeat for 12 minutes (interval 5m)",
        "Runbook:         https://wiki.example.com/runbooks/etl",
        "Link:            https://medic.example.com/v2/services/7",
    ):
        assert fact in body


def test_a_recovery_email_replies_to_the_alert_email(
    smtp_server: FakeSMTP, make_message: MakeMessage
) -> None:
    sender = EmailSender(settings(**smtp_server.settings()))
    opened = sender.send(mail_to("oncall@example.com"), make_message("alert.opened"))
    resolved = make_message("alert.resolved", opened_reference=opened.reference)
    assert sender.send(mail_to("oncall@example.com"), resolved).ok
    reply = smtp_server.mails[1].message
    assert reply["Subject"] == "ETL recovered"
    assert reply["In-Reply-To"] == opened.reference["message_id"]


def test_email_uses_starttls_and_logs_in_when_configured(
    smtp_server_tls: FakeSMTP, make_message: MakeMessage
) -> None:
    sender = EmailSender(settings(**smtp_server_tls.settings()))
    outcome = sender.send(mail_to("oncall@example.com"), make_message())
    assert outcome.ok, outcome.error
    [mail] = smtp_server_tls.mails
    assert mail.tls
    assert mail.login == "medic"


def test_email_wrong_password_is_refused(
    smtp_server_tls: FakeSMTP, make_message: MakeMessage
) -> None:
    sender = EmailSender(settings(**(smtp_server_tls.settings() | {"smtp_password": "nope"})))
    outcome = sender.send(mail_to("oncall@example.com"), make_message())
    assert not outcome.ok and not outcome.retryable
    assert "535" in (outcome.error or "")
    assert "nope" not in (outcome.error or "")
    assert smtp_server_tls.mails == []


def test_starttls_against_a_server_without_it_is_refused(
    smtp_server: FakeSMTP, make_message: MakeMessage
) -> None:
    sender = EmailSender(settings(**(smtp_server.settings() | {"smtp_starttls": True})))
    outcome = sender.send(mail_to("oncall@example.com"), make_message())
    assert not outcome.ok and not outcome.retryable
    assert "STARTTLS" in (outcome.error or "")


def test_no_smtp_host_is_refused(make_message: MakeMessage) -> None:
    outcome = EmailSender(settings()).send(mail_to("oncall@example.com"), make_message())
    assert not outcome.ok and not outcome.retryable
    assert outcome.error == "SMTP_HOST is not set"


@pytest.mark.parametrize("config", [{}, {"to": []}, {"to": ["not-an-address"]}, {"to": [3]}])
def test_email_target_needs_recipients(
    smtp_server: FakeSMTP, make_message: MakeMessage, config: dict[str, Any]
) -> None:
    sender = EmailSender(settings(**smtp_server.settings()))
    outcome = sender.send(Target("m", "email", config), make_message())
    assert not outcome.ok and not outcome.retryable
    assert smtp_server.mails == []


def test_permanent_smtp_refusals_are_refused_and_temporary_ones_retried(
    smtp_server: FakeSMTP, make_message: MakeMessage
) -> None:
    smtp_server.refuse("gone@example.com", 550, "No such user")
    smtp_server.refuse("full@example.com", 452, "Mailbox full, try later")
    sender = EmailSender(settings(**smtp_server.settings()))
    gone = sender.send(mail_to("gone@example.com"), make_message())
    full = sender.send(mail_to("full@example.com"), make_message())
    assert (gone.ok, gone.retryable) == (False, False)
    assert "550 No such user" in (gone.error or "")
    assert (full.ok, full.retryable) == (False, True)
    assert smtp_server.mails == []


def test_some_recipients_refused_is_sent_and_names_them(
    smtp_server: FakeSMTP, make_message: MakeMessage
) -> None:
    smtp_server.refuse("gone@example.com")
    sender = EmailSender(settings(**smtp_server.settings()))
    outcome = sender.send(mail_to("oncall@example.com", "gone@example.com"), make_message())
    assert outcome.ok
    assert outcome.reference["refused_recipients"] == {"gone@example.com": "550 No such user"}
    assert smtp_server.mails[0].rcpt_tos == ["oncall@example.com"]


def test_an_unreachable_smtp_server_is_a_retryable_failure(make_message: MakeMessage) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = EmailSender(settings(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False))
    outcome = sender.send(mail_to("oncall@example.com"), make_message())
    assert not outcome.ok and outcome.retryable
