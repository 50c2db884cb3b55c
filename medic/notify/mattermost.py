"""Mattermost: a post through an incoming webhook.

Target config: ``url`` (``https://mattermost.example.com/hooks/<key>``; the key is the
credential, masked in every view), ``username`` and ``channel`` (optional overrides,
when the server allows them). The body is ``{"text": …, "username": …}``.

Mattermost renders Markdown and turns ``@channel``, ``@all``, ``@here`` and
``@someone`` into notifications. In text a user chose, every ASCII punctuation mark is
backslash-escaped (CommonMark: it then means itself, so no link, image, heading or
table can be built) and every ``@`` is defused. Links are Medic's own.
"""

from __future__ import annotations

import json
import re
from typing import Any

from medic.config import Settings
from medic.notify import http
from medic.notify.message import Message, Outcome, Target
from medic.notify.plain import cut, defuse_mentions, facts, links, one_line

# Mattermost's default post limit is 16383 characters; stay well under it.
TEXT_MAX = 4000
PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
ICON = {"alert.opened": ":red_circle:", "alert.resolved": ":white_check_mark:"}


class MattermostSender:
    """Post a Message to a Mattermost incoming webhook, one attempt per call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, target: Target, message: Message) -> Outcome:
        url = target.config.get("url")
        if not isinstance(url, str) or not url:
            return Outcome.refused(f"mattermost target {target.name!r}: config needs a 'url'")
        body = json.dumps(payload(message, target.config)).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": http.USER_AGENT}
        return http.post(self.settings, url, content=body, headers=headers)


def payload(message: Message, config: dict[str, Any]) -> dict[str, Any]:
    icon = ICON.get(message.kind, ":information_source:")
    lines = [f"{icon} **{inert(message.summary())}**"]
    lines += [f"**{label}:** {inert(value)}" for label, value in facts(message)]
    found = links(message)
    if found:
        lines.append(" · ".join(f"[{label}](<{url}>)" for label, url in found))
    body: dict[str, Any] = {
        "text": cut("\n".join(lines), TEXT_MAX),
        "username": config.get("username") or "Medic",
    }
    if config.get("channel"):
        body["channel"] = config["channel"]
    return body


def inert(text: str) -> str:
    """User text that Mattermost shows as it is, on one line: no Markdown, no mention."""
    return defuse_mentions(PUNCTUATION.sub(r"\\\1", one_line(text)))
