"""Each new channel through the real delivery engine: a target created over the API,
a routing policy, a service that goes down and recovers; the fake API answers 503 and
429 first, so the engine retries at its documented delays and records every attempt.
The service's name is hostile, and reaches no channel as a mention or markup."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medic.notify.attempts import RETRY_DELAYS_SECONDS
from tests.fakes.channels import (
    FakeApi,
    FakeNtfy,
    FakeOpsgenie,
    FakeTelegram,
    FakeTwilio,
)
from tests.notify.channels.conftest import HOSTILE_NAME
from tests.postman import Postman
from tests.support import Clock


@dataclass(frozen=True)
class Channel:
    fixture: str
    config: Callable[[Any], dict[str, Any]]


CHANNELS = {
    "sms": Channel(
        "fake_twilio",
        lambda fake: {
            "account_sid": FakeTwilio.ACCOUNT_SID,
            "auth_token": FakeTwilio.AUTH_TOKEN,
            "from": "+15550009999",
            "to": ["+15551230001"],
        },
    ),
    "msteams": Channel("fake_teams", lambda fake: {"url": fake.webhook_url}),
    "opsgenie": Channel("fake_opsgenie", lambda fake: {"api_key": FakeOpsgenie.API_KEY}),
    "telegram": Channel(
        "fake_telegram",
        lambda fake: {"bot_token": FakeTelegram.BOT_TOKEN, "chat_id": "-1001234567890"},
    ),
    "ntfy": Channel(
        "fake_ntfy",
        lambda fake: {"server": fake.url, "topic": FakeNtfy.TOPIC, "token": FakeNtfy.TOKEN},
    ),
    "google_chat": Channel("fake_google_chat", lambda fake: {"url": fake.webhook_url}),
    "mattermost": Channel("fake_mattermost", lambda fake: {"url": fake.webhook_url}),
}


@pytest.fixture
def settings_overrides(
    fake_twilio: FakeTwilio,
    fake_opsgenie: FakeOpsgenie,
    fake_telegram: FakeTelegram,
    tls_ca: tuple[Any, Path],
) -> dict[str, Any]:
    return {
        "medic_allowed_webhook_hosts": "127.0.0.1",
        "medic_extra_ca_bundle": tls_ca[1],
        "twilio_api_base_url": fake_twilio.url,
        "opsgenie_api_base_url": fake_opsgenie.url,
        "telegram_api_base_url": fake_telegram.url,
    }


def _route_to(
    client: TestClient, headers: dict[str, str], kind: str, config: dict[str, Any]
) -> None:
    body = {"name": f"ops-{kind}", "kind": kind, "config": config}
    response = client.post("/v2/notification-targets", json=body, headers=headers)
    assert response.status_code == 201, response.text
    policy = {"name": "default", "rules": [{"targets": [f"ops-{kind}"]}]}
    response = client.post("/v2/routing-policies", json=policy, headers=headers)
    assert response.status_code == 201, response.text


def _inert(fake: FakeApi) -> None:
    for finder in ("mentions", "markup"):
        if hasattr(fake, finder):
            assert getattr(fake, finder)() == [], finder


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_an_alert_and_its_recovery_reach_the_channel_through_retries(
    kind: str,
    request: pytest.FixtureRequest,
    client: TestClient,
    admin_headers: dict[str, str],
    outage: Callable[..., Any],
    postman: Postman,
    clock: Clock,
) -> None:
    channel = CHANNELS[kind]
    fake: FakeApi = request.getfixturevalue(channel.fixture)
    _route_to(client, admin_headers, kind, channel.config(fake))
    fake.fail_next(503, 429)
    outage("nightly-backup", service_name=HOSTILE_NAME)

    postman.deliver()
    clock.advance(seconds=RETRY_DELAYS_SECONDS[0])
    postman.deliver()
    (delivery,) = postman.deliveries()
    assert delivery.status == "pending" and delivery.last_status_code == 429
    clock.advance(seconds=RETRY_DELAYS_SECONDS[1])
    postman.deliver()

    (delivery,) = postman.deliveries()
    assert (delivery.status, delivery.target_kind) == ("sent", kind)
    attempts = postman.attempts(delivery.delivery_id)
    assert [(a.attempt, a.succeeded) for a in attempts] == [(1, False), (2, False), (3, True)]
    assert [a.status_code for a in attempts][:2] == [503, 429]
    assert "HTTP 503" in (attempts[0].error or "")
    assert [f.retry_in_seconds for f in postman.followups] == [1, 5, None]
    assert len(fake.accepted) == 1

    outage.recover("nightly-backup")  # type: ignore[attr-defined]
    postman.deliver()
    assert [(d.kind, d.status) for d in postman.deliveries()] == [
        ("alert.opened", "sent"),
        ("alert.resolved", "sent"),
    ]
    assert len(fake.accepted) == 2
    _inert(fake)


def test_opsgenie_closes_the_alert_it_opened_by_its_dedup_key(
    client: TestClient,
    admin_headers: dict[str, str],
    outage: Callable[..., Any],
    postman: Postman,
    fake_opsgenie: FakeOpsgenie,
) -> None:
    _route_to(client, admin_headers, "opsgenie", {"api_key": FakeOpsgenie.API_KEY, "tags": ["db"]})
    outage("nightly-backup", priority="p1")
    postman.deliver()
    alert_id = client.get("/v2/alerts", headers=admin_headers).json()["results"]["items"][0][
        "alert_id"
    ]
    alias = f"medic-alert-{alert_id}"
    assert fake_opsgenie.alerts[alias]["status"] == "open"
    assert fake_opsgenie.alerts[alias]["request"]["priority"] == "P1"

    outage.recover("nightly-backup")  # type: ignore[attr-defined]
    postman.deliver()
    assert fake_opsgenie.alerts[alias]["status"] == "closed"
    assert [a["action"] for a in fake_opsgenie.accepted] == ["create", "close"]
    assert fake_opsgenie.requests[-1].path == f"/v2/alerts/{alias}/close?identifierType=alias"


def test_a_refused_sms_is_not_retried(
    client: TestClient,
    admin_headers: dict[str, str],
    outage: Callable[..., Any],
    postman: Postman,
    fake_twilio: FakeTwilio,
) -> None:
    config = CHANNELS["sms"].config(fake_twilio) | {"auth_token": "0" * 32}
    _route_to(client, admin_headers, "sms", config)
    outage("nightly-backup")
    postman.deliver()
    (delivery,) = postman.deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, 401)
    assert fake_twilio.accepted == []
