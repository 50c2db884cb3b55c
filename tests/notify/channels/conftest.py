"""Fixtures for the channel tests: the fake APIs, settings that aim Medic at them, and
a Message whose every user-chosen text is hostile."""

from __future__ import annotations

from typing import Any

import pytest

from medic.config import Settings, load_settings
from medic.notify.message import Message
from tests.fakes.channels import (  # noqa: F401  (fixtures)
    fake_google_chat,
    fake_mattermost,
    fake_ntfy,
    fake_opsgenie,
    fake_teams,
    fake_telegram,
    fake_twilio,
)
from tests.notify.conftest import MakeMessage

# What an API client may put in a service's name and a job in its failure reason.
HOSTILE_NAME = "@channel <!everyone> <users/all> [login](https://evil.example) **x**"
HOSTILE_REASON = "@all <https://evil.example|Open Medic>\n# Resolved ![i](https://e.example/p)"


def channel_settings(**overrides: Any) -> Settings:
    """Medic aimed at the fakes on 127.0.0.1 (allow-listed past the SSRF guard)."""
    values: dict[str, Any] = {
        "medic_allowed_webhook_hosts": ["127.0.0.1"],
        "medic_notify_timeout_seconds": 5,
    }
    return load_settings(_env_file=None, **(values | overrides))


@pytest.fixture
def hostile(make_message: MakeMessage) -> Message:
    return make_message(
        "alert.opened",
        service_overrides={
            "service_name": HOSTILE_NAME,
            "team": "@here",
            "state_reason": HOSTILE_REASON,
            "runbook": "javascript:alert(1)",
        },
    )
