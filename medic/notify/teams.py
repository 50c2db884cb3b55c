"""Microsoft Teams: an Adaptive Card posted to a Teams workflow webhook (the "Post to a
channel when a webhook request is received" workflow that replaced Office 365
connectors).

Target config: ``url``, the workflow's HTTP trigger URL (its ``sig`` query value is the
credential, masked in every view). The body is the workflow format,
``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <AdaptiveCard 1.4>}]}``.

Every text a user chose is a ``TextRun`` in a ``RichTextBlock``: Adaptive Cards render
those verbatim (no Markdown, no links), and a mention needs an ``msteams.entities``
entry Medic never sends, so a name cannot format, disguise a link, or ping anyone.
Links are ``Action.OpenUrl`` buttons, for URLs Medic made or checked.
"""

from __future__ import annotations

import json
from typing import Any

from medic.config import Settings
from medic.notify import http
from medic.notify.message import Message, Outcome, Target
from medic.notify.plain import cut, facts, links, one_line

CARD_VERSION = "1.4"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
# Teams refuses cards over about 28 KB; facts are cut well below.
VALUE_MAX = 2000
COLOR = {"alert.opened": "Attention", "alert.resolved": "Good", "execution.escalated": "Attention"}

Element = dict[str, Any]


class TeamsSender:
    """Post a Message to a Teams workflow webhook, one attempt per call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, target: Target, message: Message) -> Outcome:
        url = target.config.get("url")
        if not isinstance(url, str) or not url:
            return Outcome.refused(f"msteams target {target.name!r}: config needs a 'url'")
        body = json.dumps(payload(message)).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": http.USER_AGENT}
        return http.post(self.settings, url, content=body, headers=headers)


def payload(message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card(message),
            }
        ],
    }


def card(message: Message) -> dict[str, Any]:
    """An Adaptive Card 1.4: the summary as a heading, the facts, the links as buttons."""
    heading = _rich(
        _run(cut(one_line(message.summary()), VALUE_MAX), weight="Bolder", size="Medium")
        | {"color": COLOR.get(message.kind, "Default")}
    )
    body: list[Element] = [heading]
    body += [
        _rich(_run(f"{label}: ", weight="Bolder"), _run(cut(one_line(value), VALUE_MAX)))
        for label, value in facts(message)
    ]
    content: dict[str, Any] = {
        "$schema": SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }
    actions = [
        {"type": "Action.OpenUrl", "title": label, "url": url} for label, url in links(message)
    ]
    if actions:
        content["actions"] = actions
    return content


def _run(text: str, **style: str) -> Element:
    return {"type": "TextRun", "text": text, **style}


def _rich(*runs: Element) -> Element:
    return {"type": "RichTextBlock", "inlines": list(runs)}
