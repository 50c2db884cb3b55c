"""Fakes of the channel APIs of docs/channels.md: real HTTP servers on 127.0.0.1 (the
Receiver) that check a request as the real API does (path, credentials, required
fields, limits), answer as it does, and keep what they accepted.

    def test_x(fake_twilio):
        fake_twilio.fail_next(503, 429)   # the next two requests, then normal answers
        ... send to fake_twilio.url ...
        [sms] = fake_twilio.accepted

Credentials are the class constants (`FakeTwilio.AUTH_TOKEN` …); anything else gets the
API's own 401. The Receiver listens on 127.0.0.1: tests allow-list it
(MEDIC_ALLOWED_WEBHOOK_HOSTS), as for webhooks. Teams and Google Chat take https URLs
only, so their fakes serve https with a certificate from the `tls_ca` test CA
(tests/fakes/pagerduty.py), which Medic trusts through MEDIC_EXTRA_CA_BUNDLE.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import trustme

from tests.fakes.receiver import Answer, ReceivedRequest, Receiver

MENTION = re.compile(r"@[A-Za-z0-9._-]")


def reply(status: int, body: dict[str, Any] | str = "") -> Answer:
    if isinstance(body, dict):
        return Answer(status, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return Answer(status, body.encode(), {"Content-Type": "text/plain"})


class FakeApi:
    def __init__(self, tls: tuple[trustme.CA, Path] | None = None) -> None:
        """`tls`: serve https with a certificate from this CA (its PEM file in
        `ca_path`, for MEDIC_EXTRA_CA_BUNDLE), as the https-only channels need."""
        self.accepted: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.ca_path = tls[1] if tls else None
        leaf = tls[0].issue_cert("127.0.0.1") if tls else None
        self.receiver = Receiver(tls=leaf, respond=self._guarded)

    @property
    def url(self) -> str:
        return self.receiver.url

    @property
    def requests(self) -> list[ReceivedRequest]:
        return self.receiver.requests

    def fail_next(self, *statuses: int) -> None:
        """The next requests get these statuses (with an error body), then normal answers."""
        self.receiver.answer_sequence(
            reply(status, {"message": f"injected {status}"}) for status in statuses
        )

    def close(self) -> None:
        self.receiver.close()

    def keep(self, item: dict[str, Any]) -> None:
        with self.lock:
            self.accepted.append(item)

    def _guarded(self, request: ReceivedRequest) -> Answer:
        try:
            return self.respond(request)
        except (ValueError, KeyError, TypeError) as exc:
            return reply(400, {"message": f"malformed request: {exc}"})

    def respond(self, request: ReceivedRequest) -> Answer:
        raise NotImplementedError


class FakeTwilio(FakeApi):
    """The Programmable Messaging API: POST /2010-04-01/Accounts/{sid}/Messages.json."""

    ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
    AUTH_TOKEN = "f00dfacef00dfacef00dfacef00dface"

    def respond(self, request: ReceivedRequest) -> Answer:
        if request.path != f"/2010-04-01/Accounts/{self.ACCOUNT_SID}/Messages.json":
            return reply(404, {"code": 20404, "message": "The requested resource was not found"})
        expected = base64.b64encode(f"{self.ACCOUNT_SID}:{self.AUTH_TOKEN}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return reply(400, {"code": 20001, "message": "expected a form"})
        form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
        if not re.fullmatch(r"\+[1-9]\d{6,14}", form.get("To", "")):
            return reply(
                400,
                {
                    "code": 21211,
                    "message": f"The 'To' number {form.get('To')} is not a valid phone number.",
                },
            )
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return reply(400, {"code": 21603, "message": "A 'From' phone number is required."})
        if not form.get("Body") or len(form["Body"]) > 1600:
            return reply(
                400,
                {
                    "code": 21617,
                    "message": "The concatenated message body exceeds the 1600 character limit.",
                },
            )
        self.keep(form)
        sid = f"SM{len(self.accepted):032x}"
        return reply(201, {"sid": sid, "status": "queued", "to": form["To"], "body": form["Body"]})


class FakeOpsgenie(FakeApi):
    """The Alert API: create (alias deduplicates) and close by alias."""

    API_KEY = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

    def __init__(self) -> None:
        super().__init__()
        self.alerts: dict[str, dict[str, Any]] = {}

    def respond(self, request: ReceivedRequest) -> Answer:
        if request.headers.get("authorization") != f"GenieKey {self.API_KEY}":
            return reply(401, {"message": "Could not authenticate", "took": 0.0})
        parts = urlsplit(request.path)
        body = request.json or {}
        if request.method == "POST" and parts.path == "/v2/alerts":
            message = body.get("message")
            if not isinstance(message, str) or not message or len(message) > 130:
                return reply(
                    422,
                    {
                        "message": "Request body is not processable",
                        "errors": {"message": "invalid"},
                    },
                )
            alias = body.get("alias") or message
            with self.lock:
                alert = self.alerts.get(alias)
                if alert is not None and alert["status"] == "open":
                    alert["count"] += 1
                else:
                    self.alerts[alias] = {"status": "open", "count": 1, "request": body}
            self.keep({"action": "create", **body})
            return reply(202, {"result": "Request will be processed", "requestId": "r-1"})
        match = re.fullmatch(r"/v2/alerts/([^/]+)/close", parts.path)
        if request.method == "POST" and match:
            if parse_qs(parts.query).get("identifierType") != ["alias"]:
                return reply(422, {"message": "identifierType must be alias here"})
            alias = match.group(1)
            with self.lock:
                if alias in self.alerts:
                    self.alerts[alias]["status"] = "closed"
            self.keep({"action": "close", "alias": alias, **body})
            return reply(202, {"result": "Request will be processed", "requestId": "r-2"})
        return reply(404, {"message": "not found"})


class FakeTelegram(FakeApi):
    """The Bot API's sendMessage, for one bot and the chats it is in."""

    BOT_TOKEN = "123456789:AAF-test-token_0123456789abcdefghij"
    CHATS = (-1001234567890, "@medic_alerts")

    def respond(self, request: ReceivedRequest) -> Answer:
        if request.path != f"/bot{self.BOT_TOKEN}/sendMessage":
            return reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        body = request.json
        if not isinstance(body, dict) or body.get("chat_id") not in self.CHATS:
            return reply(
                400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            )
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > 4096:
            return reply(
                400,
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message text is empty or too long",
                },
            )
        self.keep(body)
        return reply(200, {"ok": True, "result": {"message_id": len(self.accepted), "text": text}})

    def mentions(self) -> list[str]:
        """What Telegram would turn into mentions in plain text (no parse_mode)."""
        return [m for sent in self.accepted for m in MENTION.findall(sent["text"])]


class FakeNtfy(FakeApi):
    """An ntfy server: POST /{topic} with the message as body and Title/Priority/Tags
    headers (RFC 2047 encoded words decoded, as ntfy does); `TOKEN` protects `TOPIC`."""

    TOPIC = "medic-7f3a9c2e"
    TOKEN = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"

    def respond(self, request: ReceivedRequest) -> Answer:
        topic = urlsplit(request.path).path.strip("/")
        if not re.fullmatch(r"[-_A-Za-z0-9]{1,64}", topic):
            return reply(404, {"code": 40401, "http": 404, "error": "page not found"})
        if topic == self.TOPIC and request.headers.get("authorization") != f"Bearer {self.TOKEN}":
            return reply(403, {"code": 40301, "http": 403, "error": "forbidden"})
        priority = request.headers.get("priority", "3")
        if priority not in (
            "1",
            "2",
            "3",
            "4",
            "5",
            "min",
            "low",
            "default",
            "high",
            "max",
            "urgent",
        ):
            return reply(400, {"code": 40007, "http": 400, "error": "invalid priority"})
        title = str(make_header(decode_header(request.headers.get("title", ""))))
        self.keep(
            {
                "topic": topic,
                "title": title,
                "priority": priority,
                "tags": request.headers.get("tags", ""),
                "click": request.headers.get("click"),
                "markdown": request.headers.get("markdown"),
                "message": request.body.decode("utf-8"),
            }
        )
        return reply(200, {"id": f"m{len(self.accepted)}", "event": "message", "topic": topic})


CARD_ELEMENTS = {
    "TextBlock",
    "RichTextBlock",
    "TextRun",
    "FactSet",
    "Container",
    "ColumnSet",
    "Column",
    "Image",
}
CARD_ACTIONS = {"Action.OpenUrl"}


class FakeTeams(FakeApi):
    """A Teams workflow's HTTP trigger: checks the signature and the Adaptive Card."""

    PATH = "/workflows/5e1f/triggers/manual/paths/invoke"
    SIG = "x9Yz-workflow-signature-Qr7"

    @property
    def webhook_url(self) -> str:
        query = f"api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={self.SIG}"
        return f"{self.url}{self.PATH}?{query}"

    def respond(self, request: ReceivedRequest) -> Answer:
        parts = urlsplit(request.path)
        if parts.path != self.PATH:
            return reply(404, {"error": {"code": "TriggerNotFound"}})
        if parse_qs(parts.query).get("sig") != [self.SIG]:
            return reply(401, {"error": {"code": "DirectApiAuthorizationRequired"}})
        body = request.json
        if not isinstance(body, dict) or body.get("type") != "message":
            return reply(400, {"error": {"code": "InvalidRequestContent"}})
        [attachment] = body["attachments"]
        card = attachment["content"]
        if attachment["contentType"] != "application/vnd.microsoft.card.adaptive":
            return reply(400, {"error": {"code": "InvalidRequestContent"}})
        if card.get("type") != "AdaptiveCard" or card.get("version") != "1.4":
            return reply(400, {"error": {"code": "InvalidRequestContent", "message": "card"}})
        unknown = [t for t in _types(card.get("body", [])) if t not in CARD_ELEMENTS]
        unknown += [
            a.get("type") for a in card.get("actions", []) if a.get("type") not in CARD_ACTIONS
        ]
        if unknown:
            return reply(400, {"error": {"code": "InvalidRequestContent", "message": str(unknown)}})
        self.keep(card)
        return Answer(202)


def _types(elements: list[dict[str, Any]]) -> Iterator[str]:
    for element in elements:
        yield element.get("type", "")
        for key in ("inlines", "items", "columns"):
            yield from _types(element.get(key, []))


class FakeGoogleChat(FakeApi):
    """A Google Chat space's incoming webhook (key and token in the query)."""

    SPACE = "AAAAbcdEfgh"
    KEY = "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"
    TOKEN = "chat-t0ken-abcdefghijklmnop"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/v1/spaces/{self.SPACE}/messages?key={self.KEY}&token={self.TOKEN}"

    def respond(self, request: ReceivedRequest) -> Answer:
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        if parts.path != f"/v1/spaces/{self.SPACE}/messages":
            return reply(404, {"error": {"code": 404, "status": "NOT_FOUND"}})
        if query.get("key") != [self.KEY] or query.get("token") != [self.TOKEN]:
            return reply(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
        body = request.json
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text or len(text) > 4096:
            return reply(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT"}})
        self.keep(body)
        return reply(
            200, {"name": f"spaces/{self.SPACE}/messages/m{len(self.accepted)}", "text": text}
        )

    def markup(self) -> list[str]:
        """What Google Chat would render as a mention or a labelled link: `<…>`."""
        return [m for sent in self.accepted for m in re.findall(r"<[^>]*>", sent["text"])]


class FakeMattermost(FakeApi):
    """A Mattermost incoming webhook: POST /hooks/{key} with a JSON post."""

    KEY = "xkr8ytj9wfbp3jqzg1s4m5n6o7"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/hooks/{self.KEY}"

    def respond(self, request: ReceivedRequest) -> Answer:
        if request.path != f"/hooks/{self.KEY}":
            return reply(400, {"id": "web.incoming_webhook.invalid.app_error", "status_code": 400})
        body = request.json
        if not isinstance(body, dict) or not body.get("text"):
            return reply(400, {"id": "web.incoming_webhook.text.app_error", "status_code": 400})
        self.keep(body)
        return reply(200, "ok")

    def mentions(self) -> list[str]:
        """`@name` as Mattermost's server finds mentions (an @ and a name character)."""
        return [m for sent in self.accepted for m in MENTION.findall(sent["text"])]


def _serve(fake: FakeApi) -> Iterator[Any]:
    yield fake
    fake.close()


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    yield from _serve(FakeTwilio())


@pytest.fixture
def fake_opsgenie() -> Iterator[FakeOpsgenie]:
    yield from _serve(FakeOpsgenie())


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    yield from _serve(FakeTelegram())


@pytest.fixture
def fake_ntfy() -> Iterator[FakeNtfy]:
    yield from _serve(FakeNtfy())


@pytest.fixture
def fake_teams(tls_ca: tuple[trustme.CA, Path]) -> Iterator[FakeTeams]:
    yield from _serve(FakeTeams(tls_ca))


@pytest.fixture
def fake_google_chat(tls_ca: tuple[trustme.CA, Path]) -> Iterator[FakeGoogleChat]:
    yield from _serve(FakeGoogleChat(tls_ca))


@pytest.fixture
def fake_mattermost() -> Iterator[FakeMattermost]:
    yield from _serve(FakeMattermost())
