"""A fake PagerDuty Events API v2: a real HTTPS server on 127.0.0.1 (its certificate
from a trustme CA that Medic trusts through MEDIC_EXTRA_CA_BUNDLE), recording every
event it is sent."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme


class FakePagerDuty:
    def __init__(self, ca_path: Path, server: ThreadingHTTPServer) -> None:
        self.ca_path = ca_path
        self.server = server
        self.events: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, *statuses: int) -> None:
        """The next requests get these statuses (then 202 again)."""
        with self.lock:
            self.statuses.extend(statuses)

    def actions(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(e["event_action"], e.get("dedup_key", "")) for e in self.events]


def _handler(fake: FakePagerDuty) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            event = json.loads(self.rfile.read(length) or b"{}")
            with fake.lock:
                status = fake.statuses.pop(0) if fake.statuses else 202
                if status == 202:
                    fake.events.append(event)
            key = event.get("dedup_key") or "generated-key"
            body = json.dumps(
                {"status": "success", "message": "Event processed", "dedup_key": key}
                if status == 202
                else {"status": "invalid event", "message": "Event object is invalid"}
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


@pytest.fixture
def fake_pagerduty(tls_ca: tuple[trustme.CA, Path]) -> Iterator[FakePagerDuty]:
    ca, ca_path = tls_ca
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    fake = FakePagerDuty(ca_path, server)
    server.RequestHandlerClass = _handler(fake)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
