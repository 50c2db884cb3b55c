"""A fake Slack: the Web API on a real HTTP server on 127.0.0.1, and requests signed
the way Slack signs them.

`fake_slack` records every call (method, parsed body, headers) and answers the methods
Medic uses (auth.test, chat.postMessage, chat.update, chat.postEphemeral,
chat.getPermalink) like Slack does; `fake_slack.fail(...)` makes a method fail with a
Slack error, an HTTP 5xx or a 429. It also serves response URLs (`response_url()`),
which bolt's `respond` and button replies post to.

`slack_signer` signs a raw body with SIGNING_SECRET (`v0=` HMAC-SHA256 of
`v0:{timestamp}:{body}`), now or at any other time. `command_body` and
`block_actions_body` build what Slack posts for `/medic …` and for a button click
(they live in tests.fakes.slack_requests and are re-exported here).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.fakes.slack_requests import (
    SIGNING_SECRET,
    TEAM_ID,
    SlackSigner,
    block_actions_body,
    command_body,
)

BOT_TOKEN = "xoxb-medic-test"
BOT_USER_ID = "U0MEDICBOT"
__all__ = [
    "BOT_TOKEN",
    "SIGNING_SECRET",
    "TEAM_ID",
    "Call",
    "FakeSlack",
    "SlackSigner",
    "block_actions_body",
    "command_body",
    "fake_slack",
    "slack_signer",
]


@dataclass(frozen=True)
class Call:
    """One request the fake received. `method` is the Web API method (`chat.update`),
    or `response_url` for a post to a response URL."""

    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def token(self) -> str | None:
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None


@dataclass
class _Failure:
    error: str
    status: int
    times: int | None
    headers: dict[str, str] = field(default_factory=dict)
    raw: str | None = None


class FakeSlack:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        # Every message posted or updated, as Slack now shows it: (channel, ts) -> message.
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._calls: list[Call] = []
        self._failures: dict[str, _Failure] = {}
        # Channels posts to which fail as Slack fails them: channel -> error.
        self.refusing: dict[str, str] = {}
        self._ts = itertools.count(1)
        self._changed = threading.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """What SLACK_API_BASE_URL should be (it ends with a slash, as the SDK needs)."""
        return f"{self.url}/api/"

    def response_url(self, name: str = "hook") -> str:
        return f"{self.url}/response/{name}"

    def calls(self, method: str | None = None) -> list[Call]:
        with self._changed:
            return [c for c in self._calls if method is None or c.method == method]

    def responses(self) -> list[Call]:
        """Posts to response URLs (ephemeral answers, late command replies)."""
        return self.calls("response_url")

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """The calls of `method` once there are at least `count`; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                calls = [c for c in self._calls if c.method == method]
                remaining = deadline - time.monotonic()
                if len(calls) >= count or remaining <= 0:
                    break
                self._changed.wait(remaining)
        assert len(calls) >= count, (
            f"fake Slack saw {len(calls)} {method} call(s), expected {count}; "
            f"saw {[c.method for c in self.calls()]}"
        )
        return calls

    def fail(
        self,
        method: str,
        error: str = "internal_error",
        *,
        status: int = 200,
        times: int | None = None,
        headers: dict[str, str] | None = None,
        raw: str | None = None,
    ) -> None:
        """Make `method` fail: `{"ok": false, "error": error}` with HTTP `status` (or the
        `raw` body instead), for the next `times` calls, or until `recover`."""
        if status == 429 and headers is None:
            headers = {"Retry-After": "3"}
        with self._changed:
            self._failures[method] = _Failure(error, status, times, headers or {}, raw)

    def recover(self, method: str | None = None) -> None:
        with self._changed:
            if method is None:
                self._failures.clear()
            else:
                self._failures.pop(method, None)

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        with self._changed:
            return self.messages[(channel, ts)]

    # The server side.

    def _record(self, call: Call) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def _failure(self, method: str) -> _Failure | None:
        with self._changed:
            failure = self._failures.get(method)
            if failure is None:
                return None
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    del self._failures[method]
            return failure

    def _answer(self, call: Call) -> dict[str, Any]:
        if call.token is None:
            return {"ok": False, "error": "not_authed"}
        body = call.body
        if call.method == "auth.test":
            return {
                "ok": True,
                "url": "https://medic-test.slack.com/",
                "team": "Medic Test",
                "user": "medic",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": "B0MEDIC",
            }
        if call.method in ("chat.postMessage", "chat.update"):
            channel = str(body.get("channel", ""))
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            if channel in self.refusing:
                return {"ok": False, "error": self.refusing[channel]}
            ts = str(body["ts"]) if call.method == "chat.update" else self._next_ts()
            message = {"text": body.get("text"), "blocks": _decoded(body.get("blocks")), "ts": ts}
            with self._changed:
                self.messages[(channel, ts)] = message
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if call.method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if call.method == "chat.getPermalink":
            channel, ts = body.get("channel", ""), str(body.get("message_ts", ""))
            link = f"https://medic-test.slack.com/archives/{channel}/p{ts.replace('.', '')}"
            return {"ok": True, "channel": channel, "permalink": link}
        return {"ok": False, "error": "unknown_method"}

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1_700_000_000 + n}.{n:06d}"


def _decoded(value: Any) -> Any:
    """Form-encoded calls carry blocks as a JSON string; JSON calls as a list."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _parse(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        parsed = json.loads(raw)
        return parsed if isinstance(parsed, dict) else {"_": parsed}
    return {key: values[-1] for key, values in parse_qs(raw.decode()).items()}


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?", 1)[0]
            method = path.removeprefix("/api/") if path.startswith("/api/") else "response_url"
            headers = {k.lower(): v for k, v in self.headers.items()}
            call = Call(method, path, _parse(raw, headers.get("content-type", "")), headers)
            fake._record(call)
            failure = fake._failure(method)
            if failure is not None:
                body = failure.raw or json.dumps({"ok": False, "error": failure.error})
                self._send(failure.status, body, failure.headers)
            elif method == "response_url":
                self._send(200, "ok", content_type="text/plain")
            else:
                self._send(200, json.dumps(fake._answer(call)))

        do_GET = do_POST

        def _send(
            self,
            status: int,
            body: str,
            headers: dict[str, str] | None = None,
            content_type: str = "application/json; charset=utf-8",
        ) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    fake = FakeSlack(server)
    server.RequestHandlerClass = _handler(fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def slack_signer() -> SlackSigner:
    return SlackSigner()
