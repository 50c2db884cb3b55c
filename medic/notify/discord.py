"""Discord: a notification as a webhook message with one embed.

Target config: ``url`` (the channel's webhook URL, through the same SSRF guard as any
webhook) and optionally ``username`` (the name the message is posted under). Discord
answers 204; answers map to outcomes as for webhooks (see medic.notify.http).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from medic.config import Settings
from medic.notify import http
from medic.notify.message import Message, Outcome, Target

RED = 0xD92D20
GREEN = 0x2EB67D
GREY = 0x95A5A6
# Discord's limits; longer values make it reject the whole message.
CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_MAX = 1024
USERNAME_MAX = 80


class DiscordSender:
    """Deliver a Message to a Discord webhook, one attempt per call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, target: Target, message: Message) -> Outcome:
        url = target.config.get("url")
        if not isinstance(url, str) or not url.strip():
            return Outcome.refused(f"discord target {target.name!r}: config needs a 'url'")
        username = target.config.get("username")
        if username is not None and not isinstance(username, str):
            return Outcome.refused(f"discord target {target.name!r}: 'username' must be text")
        body = json.dumps(payload(message, username)).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": http.USER_AGENT}
        return http.post(self.settings, url.strip(), content=body, headers=headers)


def payload(message: Message, username: str | None = None) -> dict[str, Any]:
    """The Discord "execute webhook" body for `message`."""
    embed: dict[str, Any] = {
        "title": _cut(message.summary(), TITLE_MAX),
        "color": color(message.kind),
        "timestamp": _utc(message.created_at).isoformat(),
        "fields": _fields(message),
    }
    description = _description(message)
    if description:
        embed["description"] = _cut(description, DESCRIPTION_MAX)
    if message.service_url:
        embed["url"] = message.service_url
    body: dict[str, Any] = {
        "content": _cut(message.summary(), CONTENT_MAX),
        "embeds": [embed],
        # Names and reasons come from users: never let them ping @everyone or a role.
        "allowed_mentions": {"parse": []},
    }
    if username:
        body["username"] = _cut(username, USERNAME_MAX)
    return body


def color(kind: str) -> int:
    """Red for a problem, green for a recovery, grey for anything else (maintenance)."""
    if kind == "alert.opened":
        return RED
    if kind == "alert.resolved":
        return GREEN
    return GREY


def _description(message: Message) -> str | None:
    if message.window is not None and message.kind.startswith("maintenance."):
        return message.window.reason
    if message.service is not None and message.kind == "alert.opened":
        return message.service.state_reason
    return None


def _fields(message: Message) -> list[dict[str, Any]]:
    """Team, priority, since, runbook (and a window's end); empty values left out,
    as Discord refuses them."""
    service, alert, window = message.service, message.alert, message.window
    since = (service.state_changed_at if service else None) or (
        alert.created_date if alert else None
    )
    pairs: list[tuple[str, str | None, bool]] = [
        ("Team", service.team if service else None, True),
        ("Priority", service.priority if service else None, True),
        ("Since", _discord_time(since) if since else None, True),
        ("Runbook", service.runbook if service else None, False),
    ]
    if window is not None:
        pairs.append(("Window", window.name, True))
        pairs.append(("Ends", _discord_time(window.ends_at) if window.ends_at else None, True))
    return [
        {"name": name, "value": _cut(value, FIELD_MAX), "inline": inline}
        for name, value, inline in pairs
        if value
    ]


def _discord_time(moment: datetime) -> str:
    """Discord shows `<t:…:f>` in each reader's own timezone."""
    return f"<t:{int(_utc(moment).timestamp())}:f>"


def _utc(moment: datetime) -> datetime:
    """Medic stores naive UTC datetimes; make them explicit before formatting."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
