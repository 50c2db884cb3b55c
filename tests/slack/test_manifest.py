"""The Slack app manifest people paste into api.slack.com matches what Medic serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from medic.bot.app import COMMAND

MANIFEST = Path(__file__).parents[2] / "manifests" / "slack-app.yaml"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text())


def test_it_declares_the_medic_command_on_the_events_url(manifest: dict[str, Any]) -> None:
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["url"].endswith("/slack/events")
    assert manifest["features"]["bot_user"]["display_name"] == "Medic"


def test_buttons_and_events_reach_the_same_url(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    urls = {
        manifest["features"]["slash_commands"][0]["url"],
        settings["interactivity"]["request_url"],
        settings["event_subscriptions"]["request_url"],
    }
    assert urls == {"https://medic.example.com/slack/events"}


def test_it_asks_for_the_scopes_the_bot_uses(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "chat:write.public"} <= scopes
    assert "app_mentions:read" in scopes
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_mention"]


def test_its_texts_fit_slacks_limits(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert len(info["name"]) <= 35
    assert len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000
