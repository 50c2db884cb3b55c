"""A fake SMTP server (aiosmtpd, a thread, a random port on 127.0.0.1) that records
every mail it accepts.

    smtp_server            plain SMTP, no STARTTLS, no AUTH (use SMTP_STARTTLS=false)
    smtp_server_tls        STARTTLS required (a certificate for 127.0.0.1 from a test CA,
                           whose PEM is at .ca_path) and AUTH as medic / s3cret

    smtp_server.mails                  what was accepted (envelope and parsed message)
    smtp_server.refuse(address, 550)   answer RCPT TO for that address with this code
    smtp_server.settings()             the SMTP_* settings that reach it
"""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "medic"
PASSWORD = "s3cret"


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    # Whether the session had switched to TLS, and who logged in (None: nobody).
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    def __init__(self, fake: FakeSMTP) -> None:
        self.fake = fake

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        refusal = self.fake.refusals.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login.decode() if session.auth_data else None
        self.fake.record(
            ReceivedMail(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                raw=envelope.original_content or envelope.content,
                tls=session.ssl is not None,
                login=login,
            )
        )
        return "250 Message accepted for delivery"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (USERNAME, PASSWORD)
    # handled=False: aiosmtpd answers a failure with 535 itself.
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class _RandomPortController(Controller):
    """aiosmtpd wants a fixed port; bind port 0 and read back the one we got."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class FakeSMTP:
    def __init__(self, tls: trustme.LeafCert | None = None, ca_path: Path | None = None) -> None:
        self.mails: list[ReceivedMail] = []
        self.refusals: dict[str, str] = {}
        self.ca_path = ca_path
        self.tls = tls is not None
        self._lock = threading.Lock()
        options: dict[str, Any] = {}
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.configure_cert(context)
            options = {
                "tls_context": context,
                "require_starttls": True,
                "authenticator": _authenticate,
            }
        self._controller = _RandomPortController(
            _Handler(self), hostname="127.0.0.1", port=0, **options
        )
        self._controller.start()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def settings(self) -> dict[str, Any]:
        """Settings overrides that make Medic mail through this server."""
        overrides: dict[str, Any] = {
            "smtp_host": self.host,
            "smtp_port": self.port,
            "smtp_starttls": self.tls,
            "smtp_from": "Medic <medic@example.com>",
        }
        if self.tls:
            overrides |= {
                "smtp_username": USERNAME,
                "smtp_password": PASSWORD,
                "medic_extra_ca_bundle": self.ca_path,
            }
        return overrides

    def refuse(self, address: str, code: int = 550, text: str = "No such user") -> None:
        self.refusals[address.lower()] = f"{code} {text}"

    def record(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.mails.append(mail)

    def close(self) -> None:
        self._controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[FakeSMTP]:
    fake = FakeSMTP()
    yield fake
    fake.close()


@pytest.fixture
def smtp_server_tls(tmp_path: Path) -> Iterator[FakeSMTP]:
    ca = trustme.CA()
    ca_path = tmp_path / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    fake = FakeSMTP(tls=ca.issue_cert("127.0.0.1", "localhost"), ca_path=ca_path)
    yield fake
    fake.close()
