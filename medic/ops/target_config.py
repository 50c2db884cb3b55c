"""What each kind of notification target needs in its `config`, and how it is shown.

Checked when a target is written, so a typo fails the request (naming the key)
instead of every delivery at 3 a.m. Secrets (a PagerDuty routing key, webhook header
values, the token in a Discord or Mattermost webhook URL, a password or query values in
a webhook, Teams or Google Chat URL, a Twilio auth token, an Opsgenie API key, a
Telegram bot token, an ntfy topic and token) are stored as given but never shown
again: views and audit entries mask them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import parseaddr
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "••••"
MAX_EMAIL_RECIPIENTS = 50
MAX_HEADERS = 20
WEBHOOK_METHODS = ("POST", "PUT", "PATCH")
# Headers Medic sets itself on every webhook (see medic.notify.webhook).
RESERVED_HEADERS = frozenset(
    {"host", "content-type", "content-length", "transfer-encoding", "connection"}
)
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
TWILIO_ACCOUNT = re.compile(r"AC[0-9a-fA-F]{32}")
TWILIO_SERVICE = re.compile(r"MG[0-9a-fA-F]{32}")
PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
SECRET_TOKEN = re.compile(r"[A-Za-z0-9]{16,128}")
OPSGENIE_KEY = re.compile(r"[A-Za-z0-9-]{20,64}")
TELEGRAM_TOKEN = re.compile(r"[0-9]{3,20}:[A-Za-z0-9_-]{30,64}")
TELEGRAM_CHANNEL = re.compile(r"@[A-Za-z][A-Za-z0-9_]{4,31}")
NTFY_TOPIC = re.compile(r"[-_A-Za-z0-9]{1,64}")
NTFY_TOKEN = re.compile(r"tk_[A-Za-z0-9]{16,64}")
MATTERMOST_CHANNEL = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MAX_SMS_NUMBERS = 20

Config = dict[str, Any]


def masked(secret: str) -> str:
    """Enough to recognise a secret, never enough to use it."""
    return MASK + secret[-4:] if len(secret) >= 12 else MASK


def _text(config: Config, key: str, required: bool = False) -> str | None:
    value = config.get(key)
    if value is None:
        if required:
            raise ValueError(f"config.{key} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"config.{key} must be a non-empty string")
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"config.{key} must not contain line breaks or NUL")
    if MASK in value:
        raise ValueError(f"config.{key} is a masked value; send the real one")
    return value.strip()


def _url(config: Config, key: str, schemes: tuple[str, ...]) -> str:
    url = _text(config, key, required=True) or ""
    parts = urlsplit(url)
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise ValueError(f"config.{key} must be an {' or '.join(schemes)} URL with a host")
    if len(url) > 2048:
        raise ValueError(f"config.{key} must be at most 2048 characters")
    return url


def _slack(config: Config) -> Config:
    channel = _text(config, "channel")
    if channel is not None and not CHANNEL_ID.fullmatch(channel):
        raise ValueError(f"config.channel {channel!r} is not a Slack channel id (like C0123ABCD)")
    return {} if channel is None else {"channel": channel}


def _pagerduty(config: Config) -> Config:
    key = _text(config, "routing_key")
    if key is not None and not ROUTING_KEY.fullmatch(key):
        raise ValueError("config.routing_key must be a 32-character PagerDuty integration key")
    # Absent: the delivery uses PAGERDUTY_ROUTING_KEY.
    return {} if key is None else {"routing_key": key}


def _webhook(config: Config) -> Config:
    result: Config = {"url": _url(config, "url", ("http", "https"))}
    method = config.get("method")
    if method is not None:
        if not isinstance(method, str) or method.upper() not in WEBHOOK_METHODS:
            raise ValueError(f"config.method must be one of {', '.join(WEBHOOK_METHODS)}")
        result["method"] = method.upper()
    headers = config.get("headers")
    if headers is not None:
        if not isinstance(headers, dict):
            raise ValueError("config.headers must be an object of header names to strings")
        if len(headers) > MAX_HEADERS:
            raise ValueError(f"config.headers may set at most {MAX_HEADERS} headers")
        for name, value in headers.items():
            if not HEADER_NAME.fullmatch(name):
                raise ValueError(f"config.headers: {name!r} is not a header name")
            lowered = name.lower()
            if lowered in RESERVED_HEADERS or lowered.startswith("x-medic-"):
                raise ValueError(f"config.headers: {name!r} is set by Medic")
            _text(headers, name)
            if not value.isascii():
                raise ValueError(f"config.headers: the value of {name!r} must be ASCII")
        result["headers"] = {name: value.strip() for name, value in headers.items()}
    return result


def _email(config: Config) -> Config:
    to = config.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to:
        raise ValueError("config.to must be a list of email addresses")
    if len(to) > MAX_EMAIL_RECIPIENTS:
        raise ValueError(f"config.to may list at most {MAX_EMAIL_RECIPIENTS} addresses")
    recipients: list[str] = []
    for entry in to:
        if not isinstance(entry, str) or any(c in entry for c in "\r\n\0"):
            raise ValueError(f"config.to: {entry!r} is not an email address")
        address = parseaddr(entry.strip())[1]
        local, _, domain = address.rpartition("@")
        if not local or "." not in domain:
            raise ValueError(f"config.to: {entry!r} is not an email address")
        recipients.append(entry.strip())
    return {"to": recipients}


def _discord(config: Config) -> Config:
    result: Config = {"url": _url(config, "url", ("https",))}
    username = _text(config, "username")
    if username is not None:
        if len(username) > 80:
            raise ValueError("config.username must be at most 80 characters")
        result["username"] = username
    return result


def _sms(config: Config) -> Config:
    sid = _text(config, "account_sid", required=True) or ""
    if not TWILIO_ACCOUNT.fullmatch(sid):
        raise ValueError("config.account_sid must be a Twilio account SID (AC and 32 hex digits)")
    token = _text(config, "auth_token", required=True) or ""
    if not SECRET_TOKEN.fullmatch(token):
        raise ValueError("config.auth_token must be the account's auth token (letters, digits)")
    sender = _text(config, "from", required=True) or ""
    if not (PHONE.fullmatch(sender) or TWILIO_SERVICE.fullmatch(sender)):
        raise ValueError(
            "config.from must be a number in E.164 form (+15551234567) or a Messaging "
            "Service SID (MG…)"
        )
    to = config.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to:
        raise ValueError("config.to must be a list of phone numbers in E.164 form")
    if len(to) > MAX_SMS_NUMBERS:
        raise ValueError(f"config.to may list at most {MAX_SMS_NUMBERS} numbers")
    for number in to:
        if not isinstance(number, str) or not PHONE.fullmatch(number.strip()):
            raise ValueError(f"config.to: {number!r} is not a phone number in E.164 form")
    numbers = list(dict.fromkeys(number.strip() for number in to))
    return {"account_sid": sid, "auth_token": token, "from": sender, "to": numbers}


def _opsgenie(config: Config) -> Config:
    key = _text(config, "api_key", required=True) or ""
    if not OPSGENIE_KEY.fullmatch(key):
        raise ValueError("config.api_key must be an Opsgenie API integration key")
    result: Config = {"api_key": key}
    region = _text(config, "region")
    if region is not None:
        if region.lower() not in ("us", "eu"):
            raise ValueError("config.region must be us or eu")
        result["region"] = region.lower()
    tags = config.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or len(tags) > 20:
            raise ValueError("config.tags must be a list of at most 20 tags")
        for tag in tags:
            if not isinstance(tag, str) or not tag.strip() or len(tag) > 50:
                raise ValueError(f"config.tags: {tag!r} must be text of 1 to 50 characters")
        result["tags"] = [tag.strip() for tag in tags]
    return result


def _telegram(config: Config) -> Config:
    token = _text(config, "bot_token", required=True) or ""
    if not TELEGRAM_TOKEN.fullmatch(token):
        raise ValueError("config.bot_token must be a bot token from @BotFather (123456:ABC…)")
    chat = config.get("chat_id")
    if isinstance(chat, int) and not isinstance(chat, bool):
        return {"bot_token": token, "chat_id": chat}
    text = _text(config, "chat_id", required=True) or ""
    if re.fullmatch(r"-?\d{1,20}", text):
        return {"bot_token": token, "chat_id": int(text)}
    if not TELEGRAM_CHANNEL.fullmatch(text):
        raise ValueError("config.chat_id must be a chat id (a number) or @channelname")
    return {"bot_token": token, "chat_id": text}


def _ntfy(config: Config) -> Config:
    topic = _text(config, "topic", required=True) or ""
    if not NTFY_TOPIC.fullmatch(topic):
        raise ValueError("config.topic must be 1 to 64 letters, digits, - or _")
    result: Config = {"topic": topic}
    if config.get("server") is not None:
        result["server"] = _url(config, "server", ("http", "https")).rstrip("/")
    token = _text(config, "token")
    if token is not None:
        if not NTFY_TOKEN.fullmatch(token):
            raise ValueError("config.token must be an ntfy access token (tk_…)")
        result["token"] = token
    return result


def _chat_webhook(config: Config) -> Config:
    """Teams workflows and Google Chat: the webhook URL is all there is."""
    return {"url": _url(config, "url", ("https",))}


def _mattermost(config: Config) -> Config:
    result: Config = {"url": _url(config, "url", ("http", "https"))}
    username = _text(config, "username")
    if username is not None:
        if len(username) > 64:
            raise ValueError("config.username must be at most 64 characters")
        result["username"] = username
    channel = _text(config, "channel")
    if channel is not None:
        if not MATTERMOST_CHANNEL.fullmatch(channel):
            raise ValueError("config.channel must be a channel name like town-square")
        result["channel"] = channel
    return result


VALIDATORS: dict[str, tuple[frozenset[str], Callable[[Config], Config]]] = {
    "slack": (frozenset({"channel"}), _slack),
    "pagerduty": (frozenset({"routing_key"}), _pagerduty),
    "webhook": (frozenset({"url", "method", "headers"}), _webhook),
    "email": (frozenset({"to"}), _email),
    "discord": (frozenset({"url", "username"}), _discord),
    "sms": (frozenset({"account_sid", "auth_token", "from", "to"}), _sms),
    "msteams": (frozenset({"url"}), _chat_webhook),
    "opsgenie": (frozenset({"api_key", "region", "tags"}), _opsgenie),
    "telegram": (frozenset({"bot_token", "chat_id"}), _telegram),
    "ntfy": (frozenset({"topic", "server", "token"}), _ntfy),
    "google_chat": (frozenset({"url"}), _chat_webhook),
    "mattermost": (frozenset({"url", "username", "channel"}), _mattermost),
}
# The keys that hold a credential, shown masked.
SECRET_KEYS = {
    "sms": ("auth_token",),
    "opsgenie": ("api_key",),
    "telegram": ("bot_token",),
    "ntfy": ("topic", "token"),
}


def validate_config(kind: str, config: Config) -> Config:
    """The config normalised for storage; ValueError naming the key that is wrong."""
    allowed, check = VALIDATORS[kind]
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ValueError(
            f"unknown config key{'s' if len(unknown) > 1 else ''} for a {kind} target: "
            f"{', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
        )
    return check(config)


def _mask_url_secrets(url: str) -> str:
    """A password and query values may be credentials (`?token=…`): mask them."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:{MASK}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        query = urlencode([(k, masked(v)) for k, v in parse_qsl(query, keep_blank_values=True)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _mask_discord(url: str) -> str:
    """https://discord.com/api/webhooks/<id>/<token> (and Mattermost's …/hooks/<key>):
    the last part of the path is the credential."""
    parts = urlsplit(url)
    head, _, token = parts.path.rstrip("/").rpartition("/")
    path = f"{head}/{masked(token)}" if token else parts.path
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def mask_config(kind: str, config: Config) -> Config:
    """The config as anyone may see it (API views, the CLI, the audit log)."""
    shown = dict(config)
    if kind == "pagerduty" and isinstance(shown.get("routing_key"), str):
        shown["routing_key"] = masked(shown["routing_key"])
    elif kind == "webhook":
        if isinstance(shown.get("url"), str):
            shown["url"] = _mask_url_secrets(shown["url"])
        if isinstance(shown.get("headers"), dict):
            shown["headers"] = {name: masked(str(v)) for name, v in shown["headers"].items()}
    elif kind in ("discord", "mattermost") and isinstance(shown.get("url"), str):
        shown["url"] = _mask_discord(shown["url"])
    elif kind in ("msteams", "google_chat") and isinstance(shown.get("url"), str):
        shown["url"] = _mask_url_secrets(shown["url"])
    elif kind == "ntfy" and isinstance(shown.get("server"), str):
        shown["server"] = _mask_url_secrets(shown["server"])
    for key in SECRET_KEYS.get(kind, ()):
        if isinstance(shown.get(key), str):
            shown[key] = masked(shown[key])
    return shown
