"""Google Chat: a message posted to a space's incoming webhook.

Target config: ``url``, the webhook URL (``https://chat.googleapis.com/v1/spaces/…/
messages?key=…&token=…``; its query values are credentials, masked in every view).
The body is ``{"text": …}`` in Google Chat's text format.

In that format ``<users/all>`` mentions everyone and ``<https://x|label>`` shows a link
under a label of the sender's choosing; both start with ``<``. So in text a user chose,
``<`` and ``>`` become single angle quotation marks and ``@`` is defused (as the Slack
sender escapes ``<`` and ``>``; styling marks are left alone: they can only make text
bold). Links are Medic's own, bare. Google's answers map like webhooks' (429 is retried).
"""

from __future__ import annotations

import json
from typing import Any

from medic.config import Settings
from medic.notify import http
from medic.notify.message import Message, Outcome, Target
from medic.notify.plain import cut, defuse_mentions, facts, links, one_line

# Google Chat accepts up to 4096 characters of text.
TEXT_MAX = 4096
# Look like < and > to a reader, mean nothing to Google Chat.
LEFT_QUOTE, RIGHT_QUOTE = "\u2039", "\u203a"


class GoogleChatSender:
    """Post a Message to a Google Chat webhook, one attempt per call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, target: Target, message: Message) -> Outcome:
        url = target.config.get("url")
        if not isinstance(url, str) or not url:
            return Outcome.refused(f"google_chat target {target.name!r}: config needs a 'url'")
        body = json.dumps(payload(message)).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=UTF-8", "User-Agent": http.USER_AGENT}
        return http.post(self.settings, url, content=body, headers=headers)


def payload(message: Message) -> dict[str, Any]:
    lines = [f"*{inert(message.summary())}*"]
    lines += [f"*{label}:* {inert(value)}" for label, value in facts(message)]
    lines += [f"{label}: {url}" for label, url in links(message)]
    return {"text": cut("\n".join(lines), TEXT_MAX)}


def inert(text: str) -> str:
    """User text that can neither mention nor disguise a link, on one line."""
    return defuse_mentions(one_line(text).replace("<", LEFT_QUOTE).replace(">", RIGHT_QUOTE))
