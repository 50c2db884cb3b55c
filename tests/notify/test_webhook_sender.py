"""Outgoing webhooks against a real HTTP receiver on 127.0.0.1: the body, the signed
headers, what each answer means, and the SSRF guard in front of every delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import trustme

from medic import __version__
from medic.config import ConfigError, Settings, load_settings
from medic.notify.message import Target
from medic.notify.webhook import WebhookSender
from tests.fakes.receiver import Receiver
from tests.notify.conftest import MakeMessage

SECRET = "whsec-test-0123456789"


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "medic_allowed_webhook_hosts": ["127.0.0.1"],
        "medic_webhook_secret": SECRET,
        "medic_notify_timeout_seconds": 5,
    }
    return load_settings(_env_file=None, **(values | overrides))


def webhook(url: str, **config: Any) -> Target:
    return Target(name="ops-hook", kind="webhook", config={"url": url, **config})


def verify(secret: str, headers: dict[str, str], raw_body: bytes) -> bool:
    """The receiver-side check exactly as docs/webhooks.md documents it."""
    timestamp = headers["x-medic-timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + expected.hexdigest(), headers["x-medic-signature"])


def test_body_is_the_message_as_json(webhook_receiver: Receiver, make_message: MakeMessage) -> None:
    message = make_message("alert.opened")
    outcome = WebhookSender(settings()).send(webhook(webhook_receiver.url + "/hook"), message)
    assert outcome.ok
    [request] = webhook_receiver.requests
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.json == message.as_json()
    assert request.body == json.dumps(message.as_json()).encode()


def test_medic_headers_identify_the_event_and_the_delivery(
    webhook_receiver: Receiver, make_message: MakeMessage
) -> None:
    before = int(time.time())
    WebhookSender(settings()).send(webhook(webhook_receiver.url), make_message("alert.resolved"))
    headers = webhook_receiver.requests[0].headers
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == f"Medic/{__version__}"
    assert headers["x-medic-event"] == "alert.resolved"
    assert headers["x-medic-delivery"] == "1042"
    assert int(headers["x-medic-timestamp"]) >= before


def test_signature_verifies_with_the_documented_algorithm(
    webhook_receiver: Receiver, make_message: MakeMessage
) -> None:
    WebhookSender(settings()).send(webhook(webhook_receiver.url), make_message())
    [request] = webhook_receiver.requests
    assert request.headers["x-medic-signature"].startswith("sha256=")
    assert verify(SECRET, request.headers, request.body)
    assert not verify("another-secret", request.headers, request.body)
    assert not verify(SECRET, request.headers, request.body.replace(b"ETL", b"ETX"))


def test_no_signature_header_without_a_secret(
    webhook_receiver: Receiver, make_message: MakeMessage
) -> None:
    sender = WebhookSender(settings(medic_webhook_secret=None))
    assert sender.send(webhook(webhook_receiver.url), make_message()).ok
    assert "x-medic-signature" not in webhook_receiver.requests[0].headers


def test_the_secret_is_never_sent_returned_or_logged(
    webhook_receiver: Receiver, make_message: MakeMessage, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sender = WebhookSender(settings())
    webhook_receiver.answer(500, body="boom")
    outcomes = [
        sender.send(webhook(webhook_receiver.url), make_message()),
        sender.send(webhook("http://10.0.0.1/"), make_message()),
    ]
    [request] = webhook_receiver.requests
    assert SECRET.encode() not in request.body
    assert all(SECRET not in value for value in request.headers.values())
    assert all(SECRET not in repr(outcome) for outcome in outcomes)
    assert SECRET not in caplog.text


def test_custom_headers_are_sent(webhook_receiver: Receiver, make_message: MakeMessage) -> None:
    target = webhook(
        webhook_receiver.url, headers={"Authorization": "Bearer abc", "X-Team": "data"}
    )
    assert WebhookSender(settings()).send(target, make_message()).ok
    headers = webhook_receiver.requests[0].headers
    assert headers["authorization"] == "Bearer abc"
    assert headers["x-team"] == "data"


@pytest.mark.parametrize(
    "headers",
    [{"X-Medic-Signature": "sha256=forged"}, {"Host": "internal"}, {"Content-Type": "text/plain"}],
)
def test_custom_headers_cannot_replace_medics_own(
    webhook_receiver: Receiver, make_message: MakeMessage, headers: dict[str, str]
) -> None:
    outcome = WebhookSender(settings()).send(
        webhook(webhook_receiver.url, headers=headers), make_message()
    )
    assert not outcome.ok and not outcome.retryable
    assert "set by Medic" in (outcome.error or "")
    assert webhook_receiver.requests == []


def test_the_configured_method_is_used(
    webhook_receiver: Receiver, make_message: MakeMessage
) -> None:
    sender = WebhookSender(settings())
    assert sender.send(webhook(webhook_receiver.url, method="put"), make_message()).ok
    assert webhook_receiver.requests[0].method == "PUT"
    refused = sender.send(webhook(webhook_receiver.url, method="GET"), make_message())
    assert not refused.ok and not refused.retryable


def test_a_target_without_url_is_refused(make_message: MakeMessage) -> None:
    outcome = WebhookSender(settings()).send(Target("hook", "webhook", {}), make_message())
    assert not outcome.ok and not outcome.retryable
    assert "url" in (outcome.error or "")


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_a_2xx_answer_is_sent(
    webhook_receiver: Receiver, make_message: MakeMessage, status: int
) -> None:
    webhook_receiver.answer(status)
    outcome = WebhookSender(settings()).send(webhook(webhook_receiver.url), make_message())
    assert outcome.ok
    assert outcome.status_code == status


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_server_errors_and_throttling_are_retryable_failures(
    webhook_receiver: Receiver, make_message: MakeMessage, status: int
) -> None:
    webhook_receiver.answer(status, body={"error": "try later"})
    outcome = WebhookSender(settings()).send(webhook(webhook_receiver.url), make_message())
    assert not outcome.ok
    assert outcome.retryable
    assert outcome.status_code == status
    assert outcome.error == f'HTTP {status}: {{"error": "try later"}}'


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_client_errors_are_refused(
    webhook_receiver: Receiver, make_message: MakeMessage, status: int
) -> None:
    webhook_receiver.answer(status)
    outcome = WebhookSender(settings()).send(webhook(webhook_receiver.url), make_message())
    assert not outcome.ok
    assert not outcome.retryable
    assert outcome.status_code == status
    assert outcome.error == f"HTTP {status}"


def test_a_long_error_body_is_cut_to_one_short_line(
    webhook_receiver: Receiver, make_message: MakeMessage
) -> None:
    webhook_receiver.answer(503, body="<html>\n" + "x" * 100_000)
    outcome = WebhookSender(settings()).send(webhook(webhook_receiver.url), make_message())
    assert outcome.error is not None
    assert outcome.error.startswith("HTTP 503: <html> xxx")
    assert len(outcome.error) < 400


def test_a_redirect_is_refused_naming_the_location_and_not_followed(
    webhook_receiver: Receiver, make_message: MakeMessage
) -> None:
    webhook_receiver.redirect("http://169.254.169.254/latest/meta-data/", path="/hook")
    outcome = WebhookSender(settings()).send(
        webhook(webhook_receiver.url + "/hook"), make_message()
    )
    assert not outcome.ok and not outcome.retryable
    assert outcome.status_code == 302
    assert "http://169.254.169.254/latest/meta-data/" in (outcome.error or "")
    assert len(webhook_receiver.requests) == 1


def test_a_timeout_is_a_retryable_failure(
    webhook_receiver: Receiver, make_message: MakeMessage
) -> None:
    webhook_receiver.answer(200, delay=10)
    sender = WebhookSender(settings(medic_notify_timeout_seconds=0.2))
    outcome = sender.send(webhook(webhook_receiver.url), make_message())
    assert not outcome.ok and outcome.retryable
    assert outcome.status_code is None
    assert "timed out" in (outcome.error or "")


def test_a_refused_connection_is_a_retryable_failure(make_message: MakeMessage) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = WebhookSender(settings()).send(webhook(f"http://127.0.0.1:{port}/"), make_message())
    assert not outcome.ok and outcome.retryable
    assert "connection failed" in (outcome.error or "")


def test_a_webhook_to_loopback_is_refused_unless_allow_listed(
    webhook_receiver: Receiver, make_message: MakeMessage
) -> None:
    target = webhook(webhook_receiver.url + "/hook")
    refused = WebhookSender(settings(medic_allowed_webhook_hosts=[])).send(target, make_message())
    assert not refused.ok and not refused.retryable
    assert refused.error is not None and refused.error.startswith("refused: ")
    assert "MEDIC_ALLOWED_WEBHOOK_HOSTS" in refused.error
    assert webhook_receiver.requests == []
    allowed = WebhookSender(settings(medic_allowed_webhook_hosts=["127.0.0.1"]))
    assert allowed.send(target, make_message()).ok
    assert len(webhook_receiver.requests) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:192.168.0.1]/hook",
        "https://100.64.0.1/",
        "http://localhost/hook",
    ],
)
def test_a_webhook_to_a_private_address_is_refused_before_any_connection(
    make_message: MakeMessage, url: str
) -> None:
    outcome = WebhookSender(settings()).send(webhook(url), make_message())
    assert not outcome.ok and not outcome.retryable
    assert (outcome.error or "").startswith("refused: ")


def test_a_non_http_url_is_refused(make_message: MakeMessage) -> None:
    outcome = WebhookSender(settings()).send(webhook("file:///etc/passwd"), make_message())
    assert not outcome.ok and not outcome.retryable
    assert "scheme" in (outcome.error or "")


def test_https_webhook_trusts_the_extra_ca_bundle(
    tmp_path: Path, make_message: MakeMessage
) -> None:
    ca = trustme.CA()
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    receiver = Receiver(tls=ca.issue_cert("127.0.0.1"))
    try:
        target = webhook(receiver.url + "/secure")
        untrusted = WebhookSender(settings()).send(target, make_message())
        assert not untrusted.ok and untrusted.retryable
        assert "CERTIFICATE_VERIFY_FAILED" in (untrusted.error or "")
        trusted = WebhookSender(settings(medic_extra_ca_bundle=ca_path))
        assert trusted.send(target, make_message()).ok
        assert receiver.requests[0].path == "/secure"
    finally:
        receiver.close()


def test_a_missing_extra_ca_bundle_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"MEDIC_EXTRA_CA_BUNDLE: .*missing\.pem"):
        settings(medic_extra_ca_bundle=tmp_path / "missing.pem")
