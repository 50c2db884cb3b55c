"""What Slack sends Medic: request bodies for `/medic …` and button clicks, and the
signature headers Slack puts on them (`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "medic-test-signing-secret-5c1e"
TEAM_ID = "T0MEDIC"
FORM = "application/x-www-form-urlencoded"


class SlackSigner:
    """Signs request bodies like Slack does, with `secret`."""

    def __init__(self, secret: str = SIGNING_SECRET) -> None:
        self.secret = secret

    def signature(self, body: str, timestamp: int) -> str:
        base = f"v0:{timestamp}:{body}".encode()
        return "v0=" + hmac.new(self.secret.encode(), base, hashlib.sha256).hexdigest()

    def headers(
        self, body: str, *, timestamp: int | None = None, age_seconds: int = 0
    ) -> dict[str, str]:
        """Headers for POSTing exactly `body`; `age_seconds` signs it that long ago."""
        ts = int(time.time()) - age_seconds if timestamp is None else timestamp
        return {
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": self.signature(body, ts),
        }


def command_body(
    text: str,
    *,
    user_id: str = "U0ALICE",
    channel_id: str = "C0ALERTS",
    command: str = "/medic",
    response_url: str = "https://hooks.slack.com/commands/T0MEDIC/1/x",
) -> str:
    """What Slack POSTs for `/medic <text>` (form-encoded)."""
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "medic-test",
            "channel_id": channel_id,
            "channel_name": "alerts",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0MEDIC",
            "response_url": response_url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    )


def block_actions_body(
    action_id: str,
    value: str,
    *,
    user_id: str = "U0ALICE",
    channel_id: str = "C0ALERTS",
    message_ts: str = "1700000000.000001",
    blocks: list[dict[str, Any]] | None = None,
    text: str = "",
    response_url: str | None = None,
) -> str:
    """What Slack POSTs when `user_id` clicks button `action_id` on a channel message."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "medic-test"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0MEDIC",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "channel": {"id": channel_id, "name": "alerts"},
        "message": {"type": "message", "ts": message_ts, "text": text, "blocks": blocks or []},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "medic_alert_actions",
                "value": value,
                "action_ts": f"{int(time.time())}.000100",
            }
        ],
    }
    if response_url:
        payload["response_url"] = response_url
    return urlencode({"payload": json.dumps(payload)})
