"""The new channels' target configs over the v2 API and the CLI: checked when written
(a 400 naming the key), secrets never shown again (to an admin or a read key, in an
answer or the audit log), and every list of target kinds in agreement."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient

from medic.cli.targets import KINDS as CLI_KINDS
from medic.config import load_settings
from medic.core.routing import TARGET_KINDS
from medic.models import NotificationTarget
from medic.notify.senders import make_senders
from medic.ops.target_config import VALIDATORS
from medic.ops.targets import Kind
from medic.process import MedicProcess
from tests.cli import Run
from tests.routing.helpers import Api

TWILIO_TOKEN = "f00dfacef00dfacef00dfacef00dface"
OPSGENIE_KEY = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
BOT_TOKEN = "123456789:AAF-test-token_0123456789abcdefghij"
NTFY_TOPIC, NTFY_TOKEN = "medic-7f3a9c2e", "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
TEAMS_SIG, CHAT_TOKEN, MM_KEY = (
    "x9Yz-workflow-sig-Qr7",
    "chat-t0ken-abcdefghij",
    "xkr8ytj9wfbp3jqzg1s4m5n6o7",
)
SECRETS = (
    TWILIO_TOKEN,
    OPSGENIE_KEY,
    BOT_TOKEN,
    NTFY_TOPIC,
    NTFY_TOKEN,
    TEAMS_SIG,
    CHAT_TOKEN,
    MM_KEY,
)
SID = "AC" + "0123456789abcdef" * 2
TEAMS_URL = f"https://prod-1.westeurope.logic.azure.com/workflows/5e1f/triggers/manual/paths/invoke?sv=1.0&sig={TEAMS_SIG}"
CHAT_URL = (
    f"https://chat.googleapis.com/v1/spaces/AAAA/messages?key=AIzaSyDdI0hCZtE6&token={CHAT_TOKEN}"
)

VALID: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    "sms": (
        {
            "account_sid": SID,
            "auth_token": TWILIO_TOKEN,
            "from": "+15550009999",
            "to": "+15551230001",
        },
        {
            "account_sid": SID,
            "auth_token": "••••face",
            "from": "+15550009999",
            "to": ["+15551230001"],
        },
    ),
    # Query values masked: checked below, by the secret not showing.
    "msteams": ({"url": TEAMS_URL}, None),
    "opsgenie": (
        {"api_key": OPSGENIE_KEY, "region": "EU", "tags": ["db"]},
        {"api_key": "••••e1f0", "region": "eu", "tags": ["db"]},
    ),
    "telegram": (
        {"bot_token": BOT_TOKEN, "chat_id": "-1001234567890"},
        {"bot_token": "••••ghij", "chat_id": -1001234567890},
    ),
    "ntfy": (
        {"server": "https://ntfy.example.com/", "topic": NTFY_TOPIC, "token": NTFY_TOKEN},
        {"server": "https://ntfy.example.com", "topic": "••••9c2e", "token": "••••NIz2"},
    ),
    "google_chat": ({"url": CHAT_URL}, None),
    "mattermost": (
        {"url": f"https://mm.example.com/hooks/{MM_KEY}", "username": "Medic", "channel": "ops"},
        {"url": "https://mm.example.com/hooks/••••n6o7", "username": "Medic", "channel": "ops"},
    ),
}


@pytest.fixture
def api(client: TestClient, admin_headers: dict[str, str]) -> Api:
    return Api(client, admin_headers)


@pytest.fixture
def cli_scope() -> str:
    """Targets are configured with an admin key."""
    return "admin"


@pytest.mark.parametrize("kind", list(VALID))
def test_each_channel_accepts_its_config_and_masks_its_secrets(api: Api, kind: str) -> None:
    config, shown = VALID[kind]
    created = api.create(
        "notification-targets", {"name": f"t-{kind}", "kind": kind, "config": config}
    )
    assert created["kind"] == kind
    if shown is not None:
        assert created["config"] == shown
    for secret in SECRETS:
        assert secret not in json.dumps(created)


INVALID = [
    (
        "sms",
        {
            "account_sid": "AC1",
            "auth_token": TWILIO_TOKEN,
            "from": "+15550009999",
            "to": ["+15551230001"],
        },
        "config.account_sid",
    ),
    (
        "sms",
        {"account_sid": SID, "from": "+15550009999", "to": ["+15551230001"]},
        "config.auth_token is required",
    ),
    (
        "sms",
        {"account_sid": SID, "auth_token": TWILIO_TOKEN, "from": "555", "to": ["+15551230001"]},
        "config.from",
    ),
    (
        "sms",
        {
            "account_sid": SID,
            "auth_token": TWILIO_TOKEN,
            "from": "+15550009999",
            "to": ["0044 7700"],
        },
        "config.to: '0044 7700'",
    ),
    (
        "sms",
        {"account_sid": SID, "auth_token": TWILIO_TOKEN, "from": "+15550009999", "to": []},
        "config.to must be",
    ),
    ("msteams", {"url": "http://prod-1.logic.azure.com/x"}, "config.url must be an https URL"),
    ("msteams", {"url": TEAMS_URL, "title": "x"}, "unknown config key for a msteams target: title"),
    ("opsgenie", {}, "config.api_key is required"),
    ("opsgenie", {"api_key": "short"}, "config.api_key"),
    ("opsgenie", {"api_key": OPSGENIE_KEY, "region": "asia"}, "config.region must be us or eu"),
    ("opsgenie", {"api_key": OPSGENIE_KEY, "tags": "db"}, "config.tags must be a list"),
    ("telegram", {"bot_token": "abc", "chat_id": 1}, "config.bot_token"),
    ("telegram", {"bot_token": BOT_TOKEN}, "config.chat_id is required"),
    ("telegram", {"bot_token": BOT_TOKEN, "chat_id": "my chat"}, "config.chat_id must be"),
    ("ntfy", {}, "config.topic is required"),
    ("ntfy", {"topic": "a/b"}, "config.topic must be"),
    ("ntfy", {"topic": "alerts", "server": "ftp://ntfy.example.com"}, "config.server"),
    ("ntfy", {"topic": "alerts", "token": "password"}, "config.token"),
    ("google_chat", {}, "config.url is required"),
    ("mattermost", {"url": "mm.example.com/hooks/x"}, "config.url"),
    (
        "mattermost",
        {"url": "https://mm.example.com/hooks/x", "channel": "Town Square"},
        "config.channel",
    ),
]


@pytest.mark.parametrize(("kind", "config", "fragment"), INVALID)
def test_a_wrong_config_is_a_400_naming_the_key(
    api: Api, kind: str, config: dict[str, Any], fragment: str
) -> None:
    message = api.create(
        "notification-targets", {"name": "t", "kind": kind, "config": config}, expect=400
    )
    assert fragment in message
    assert api.get("notification-targets")["total"] == 0


def test_secrets_reach_delivery_but_no_reader_and_no_audit_entry(
    api: Api, client: TestClient, read_headers: dict[str, str], medic: MedicProcess
) -> None:
    for kind, (config, _) in VALID.items():
        api.create("notification-targets", {"name": f"t-{kind}", "kind": kind, "config": config})
    api.patch("notification-targets/t-opsgenie", {"enabled": False})
    seen = [
        client.get("/v2/notification-targets", headers=read_headers).text,
        client.get("/v2/notification-targets/t-telegram", headers=read_headers).text,
        client.get("/v2/notification-targets", headers=api.headers).text,
        client.get("/v2/audit", headers=api.headers).text,
    ]
    for text in seen:
        for secret in SECRETS:
            assert secret not in text
    with medic.db.session() as session:
        row = session.get(
            NotificationTarget, api.get("notification-targets/t-telegram")["target_id"]
        )
        assert row is not None and row.config["bot_token"] == BOT_TOKEN


def test_a_read_key_cannot_create_and_a_masked_secret_cannot_be_written_back(
    api: Api, client: TestClient, read_headers: dict[str, str]
) -> None:
    body = {"name": "t", "kind": "opsgenie", "config": {"api_key": OPSGENIE_KEY}}
    assert (
        client.post("/v2/notification-targets", json=body, headers=read_headers).status_code == 403
    )
    shown = api.create("notification-targets", body)["config"]
    assert "masked" in api.patch("notification-targets/t", {"config": shown}, expect=400)


def test_the_cli_creates_a_channel_target_and_shows_it_masked(medic_cli: Run) -> None:
    output = medic_cli(
        "target", "create", "phones", "--kind", "sms",
        "--set", f"account_sid={SID}", "--set", f"auth_token={TWILIO_TOKEN}",
        "--set", "from=+15550009999", "--set", "to=+15551230001", "--set", "to=+15551230002",
        "--json",
    ).output  # fmt: skip
    created = json.loads(output)
    assert created["config"]["to"] == ["+15551230001", "+15551230002"]
    assert TWILIO_TOKEN not in output
    refused = medic_cli(
        "target", "create", "bad", "--kind", "telegram", "--set", "chat_id=1", code=1
    )
    assert "400: config.bot_token is required" in refused.output


def test_every_list_of_target_kinds_agrees() -> None:
    senders = set(make_senders(load_settings(_env_file=None)))
    assert set(get_args(Kind)) == set(TARGET_KINDS) == set(CLI_KINDS) == set(VALIDATORS) == senders
