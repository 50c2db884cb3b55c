"""Outgoing webhooks: the notification as JSON, signed, to a URL the user chose.

Target config: ``url`` (required), ``headers`` (extra headers, optional), ``method``
(``POST`` by default; ``PUT`` or ``PATCH``). The body is ``json.dumps(message.as_json())``
and these headers come with it (all documented in docs/webhooks.md):

* ``Content-Type: application/json`` and ``User-Agent: Medic/<version>``
* ``X-Medic-Event``: the event, e.g. ``alert.opened``
* ``X-Medic-Delivery``: the notification id, the same on every retry (deduplicate on it)
* ``X-Medic-Timestamp``: Unix seconds when this attempt was made
* ``X-Medic-Signature: sha256=<hex>`` when ``MEDIC_WEBHOOK_SECRET`` is set, where
  ``<hex> = HMAC-SHA256(key=secret, msg=f"{timestamp}.{body}")`` over the exact bytes
  sent (UTF-8). Signing the timestamp with the body lets receivers refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from medic.config import Settings
from medic.notify import http
from medic.notify.message import Message, Outcome, Target

TOKEN_PUNCTUATION = "!#$%&'*+-.^_`|~"
METHODS = frozenset({"POST", "PUT", "PATCH"})
# Headers a target's config may not set: Medic's own, and those that frame the request.
RESERVED_HEADERS = frozenset(
    {"host", "content-type", "content-length", "transfer-encoding", "connection"}
)


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The `X-Medic-Signature` value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


class WebhookSender:
    """Deliver a Message to one webhook URL, one attempt per call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, target: Target, message: Message) -> Outcome:
        try:
            url, method, custom = _parse_config(target.config)
        except ValueError as exc:
            return Outcome.refused(f"webhook target {target.name!r}: {exc}")
        body = json.dumps(message.as_json()).encode("utf-8")
        headers = {**custom, **self.headers(message, body)}
        return http.post(self.settings, url, content=body, headers=headers, method=method)

    def headers(self, message: Message, body: bytes, now: float | None = None) -> dict[str, str]:
        """Medic's headers for `body`, signed when a secret is configured."""
        timestamp = int(time.time() if now is None else now)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": http.USER_AGENT,
            "X-Medic-Event": message.kind,
            "X-Medic-Delivery": str(message.notification_id),
            "X-Medic-Timestamp": str(timestamp),
        }
        if self.settings.medic_webhook_secret:
            headers["X-Medic-Signature"] = signature(
                self.settings.medic_webhook_secret, timestamp, body
            )
        return headers


def _parse_config(config: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    url = config.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ValueError("config needs a 'url'")
    method = config.get("method") or "POST"
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise ValueError(f"'method' must be one of {', '.join(sorted(METHODS))}")
    headers = config.get("headers") or {}
    if not isinstance(headers, dict):
        raise ValueError("'headers' must be an object of header names to values")
    custom: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str | int | float):
            raise ValueError("'headers' must map names to strings")
        lowered = name.strip().lower()
        if lowered in RESERVED_HEADERS or lowered.startswith("x-medic-"):
            raise ValueError(f"header {name!r} is set by Medic and cannot be configured")
        text = str(value)
        if not _token(name) or not text.isascii() or any(c in text for c in "\r\n\0"):
            raise ValueError(f"header {name!r} has an invalid name or value")
        custom[name] = text
    return url.strip(), method.upper(), custom


def _token(name: str) -> bool:
    """An HTTP header name: visible ASCII without separators."""
    return bool(name) and all(c.isascii() and (c.isalnum() or c in TOKEN_PUNCTUATION) for c in name)
