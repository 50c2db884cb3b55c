"""ntfy: a push notification to a topic on ntfy.sh or a self-hosted ntfy server.

Target config: ``topic`` (required; on a public server the topic name is the secret),
``server`` (default ``https://ntfy.sh``), ``token`` (an access token, optional). The
message is ``POST {server}/{topic}`` with the text as a plain-text body (no
``Markdown`` header, so nothing in it is markup) and ``Title``, ``Priority``, ``Tags``
and ``Click`` headers; a title that is not ASCII is sent RFC 2047-encoded, which ntfy
decodes. Answers map to outcomes as for webhooks (medic.notify.http).
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from medic.config import Settings
from medic.notify import http
from medic.notify.message import Message, Outcome, Target
from medic.notify.plain import cut, facts, links, one_line

DEFAULT_SERVER = "https://ntfy.sh"
# ntfy's message limit is 4096 bytes before it turns a message into an attachment.
BODY_MAX = 3500
TITLE_MAX = 200
PRIORITY_BY_SERVICE = {"p1": "5", "p2": "4", "p3": "3", "p4": "2", "p5": "1"}
TAGS = {
    "alert.opened": "rotating_light",
    "alert.resolved": "white_check_mark",
    "execution.escalated": "rotating_light",
    "execution.failed": "warning",
}


class NtfySender:
    """Publish a Message to an ntfy topic, one attempt per call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, target: Target, message: Message) -> Outcome:
        topic = target.config.get("topic")
        if not isinstance(topic, str) or not topic:
            return Outcome.refused(f"ntfy target {target.name!r}: config needs a 'topic'")
        server = target.config.get("server") or DEFAULT_SERVER
        url = f"{str(server).rstrip('/')}/{quote(topic, safe='')}"
        headers = {**publish_headers(message), "User-Agent": http.USER_AGENT}
        token = target.config.get("token")
        if isinstance(token, str) and token:
            headers["Authorization"] = f"Bearer {token}"
        body = body_text(message).encode("utf-8")
        return http.post(self.settings, url, content=body, headers=headers)


def publish_headers(message: Message) -> dict[str, str]:
    priority = message.service.priority if message.service else ""
    headers = {
        "Content-Type": "text/plain; charset=utf-8",
        "Title": header_value(cut(one_line(message.summary()), TITLE_MAX)),
        "Priority": PRIORITY_BY_SERVICE.get(priority, "3") if message.is_problem else "3",
        "Tags": TAGS.get(message.kind, "information_source"),
    }
    if message.service_url:
        headers["Click"] = message.service_url
    return headers


def body_text(message: Message) -> str:
    """The facts one per line (plain text: ntfy renders Markdown only when asked)."""
    lines = [f"{label}: {one_line(value)}" for label, value in facts(message)]
    lines += [f"{label}: {url}" for label, url in links(message)]
    return cut("\n".join(lines) or message.summary(), BODY_MAX)


def header_value(text: str) -> str:
    """ASCII as is; anything else as an RFC 2047 encoded word, never a raw byte that
    an HTTP library would refuse or a proxy mangle."""
    if text.isascii():
        return text
    return f"=?UTF-8?B?{base64.b64encode(text.encode('utf-8')).decode('ascii')}?="
