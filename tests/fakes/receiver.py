"""A webhook receiver: a real HTTP server on 127.0.0.1 (a thread, a random port) that
records every request and answers what the test programmed.

    def test_x(webhook_receiver):
        webhook_receiver.answer(500)                       # every request, every path
        webhook_receiver.answer(204, path="/discord")      # one path
        webhook_receiver.answer_sequence([500, 500, 200])  # the next three, then the default
        webhook_receiver.redirect("http://10.0.0.1/")      # 302 with a Location
        webhook_receiver.answer(200, delay=2)              # answer late (timeouts)
        ... send to webhook_receiver.url + "/hook" ...
        [request] = webhook_receiver.requests              # or .wait_for(3) from threads

The receiver listens on 127.0.0.1, which the SSRF guard refuses, so tests that deliver
to it allow-list "127.0.0.1" (MEDIC_ALLOWED_WEBHOOK_HOSTS). `Receiver(tls=...)` serves
https with a certificate from a test CA.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    # Lower-case names; the last value wins for a repeated header.
    headers: dict[str, str]
    body: bytes
    received_at: datetime
    monotonic: float

    @property
    def json(self) -> Any:
        """The body parsed as JSON; None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a refused certificate, a timeout) is not news."""


class Receiver:
    def __init__(
        self,
        tls: trustme.LeafCert | None = None,
        respond: Callable[[ReceivedRequest], Answer] | None = None,
    ) -> None:
        """`respond` answers a request nothing was programmed for (a fake of a real
        API, tests/fakes/channels.py); without it, the default answer does."""
        self._respond = respond
        self.requests: list[ReceivedRequest] = []
        self._default = Answer()
        self._by_path: dict[str, Answer] = {}
        self._sequence: list[Answer] = []
        self._lock = threading.Condition()
        self._closing = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self.scheme = "http"
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.configure_cert(context)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:41234 (append a path)."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def answer(
        self,
        status: int = 200,
        body: bytes | str | dict[str, Any] = b"",
        headers: dict[str, str] | None = None,
        *,
        path: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer every request (or those to `path`) this way from now on."""
        programmed = _answer(status, body, headers, delay)
        with self._lock:
            if path is None:
                self._default = programmed
            else:
                self._by_path[path] = programmed

    def answer_sequence(self, statuses: Iterable[int | Answer]) -> None:
        """Answer the next requests (any path) with these, in order; then as before."""
        with self._lock:
            self._sequence.extend(
                item if isinstance(item, Answer) else Answer(item) for item in statuses
            )

    def redirect(self, location: str, status: int = 302, *, path: str | None = None) -> None:
        self.answer(status, headers={"Location": location}, path=path)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """The requests once at least `count` arrived (for deliveries made by other
        threads); raises AssertionError after `timeout` seconds."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{len(self.requests)} requests arrived, wanted {count}")
            return list(self.requests)

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, request: ReceivedRequest) -> Answer:
        with self._lock:
            self.requests.append(request)
            self._lock.notify_all()
            if self._sequence:
                return self._sequence.pop(0)
            programmed = self._by_path.get(request.path)
        if programmed is not None:
            return programmed
        return self._respond(request) if self._respond else self._default


def _answer(
    status: int, body: bytes | str | dict[str, Any], headers: dict[str, str] | None, delay: float
) -> Answer:
    all_headers = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body)
        all_headers.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    return Answer(status, body, all_headers, delay)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            body = self._read_body()
            answer = receiver._record(
                ReceivedRequest(
                    method=self.command,
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                    received_at=datetime.now(UTC),
                    monotonic=time.monotonic(),
                )
            )
            if answer.delay and receiver._closing.wait(answer.delay):
                return
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()
