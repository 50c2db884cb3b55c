"""Telegram: a message from the operator's bot to a chat (Bot API `sendMessage`).

Target config: ``bot_token`` (from @BotFather, a secret: it is in the request path, so
never in an error or a log line) and ``chat_id`` (a number, negative for groups, or
``@channelname``). The API lives at ``TELEGRAM_API_BASE_URL``.

The text is sent without ``parse_mode``: plain text, so nothing a service name or a
reason holds is HTML or MarkdownV2, and every ``@`` is defused so a name cannot mention
anyone. Telegram's answers map like webhooks' (429 carries ``retry_after``; the
delivery engine retries on its own schedule).
"""

from __future__ import annotations

import json
from typing import Any

from medic.config import Settings
from medic.notify import http
from medic.notify.message import Message, Outcome, Target
from medic.notify.plain import cut, defuse_mentions, facts, links, one_line

# Telegram refuses a text longer than 4096 characters.
TEXT_MAX = 4096
INFORMATION = "\u2139\ufe0f"
ICON = {"alert.opened": "🔴", "alert.resolved": "✅", "execution.escalated": "🔴"}


class TelegramSender:
    """Send a Message to a Telegram chat, one attempt per call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, target: Target, message: Message) -> Outcome:
        token, chat_id = target.config.get("bot_token"), target.config.get("chat_id")
        if not isinstance(token, str) or not token or chat_id in (None, ""):
            return Outcome.refused(
                f"telegram target {target.name!r}: config needs 'bot_token' and 'chat_id'"
            )
        base = self.settings.telegram_api_base_url.rstrip("/")
        body = json.dumps(payload(message, chat_id)).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": http.USER_AGENT}
        outcome = http.post(
            self.settings, f"{base}/bot{token}/sendMessage", content=body, headers=headers
        )
        if outcome.error and token in outcome.error:
            return Outcome(
                ok=outcome.ok,
                status_code=outcome.status_code,
                error=outcome.error.replace(token, "<bot_token>"),
                retryable=outcome.retryable,
            )
        return outcome


def payload(message: Message, chat_id: str | int) -> dict[str, Any]:
    return {
        "chat_id": chat_id,
        "text": message_text(message),
        "link_preview_options": {"is_disabled": True},
        # A recovery or maintenance news does not need to wake anyone.
        "disable_notification": not message.is_problem,
    }


def message_text(message: Message) -> str:
    """Plain text: the summary, the facts one per line, the links."""
    icon = ICON.get(message.kind, INFORMATION)
    lines = [f"{icon} {defuse_mentions(one_line(message.summary()))}", ""]
    lines += [f"{label}: {defuse_mentions(one_line(value))}" for label, value in facts(message)]
    lines += [f"{label}: {url}" for label, url in links(message)]
    return cut("\n".join(lines).strip(), TEXT_MAX)
