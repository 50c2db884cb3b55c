"""Email: a notification as a plain-text mail through the operator's SMTP server.

Target config: ``to``, a list of addresses (``"ops@example.com"`` or
``"Ops <ops@example.com>"``). The server comes from settings (``SMTP_HOST``,
``SMTP_PORT``, ``SMTP_USERNAME``/``SMTP_PASSWORD``, ``SMTP_FROM``, ``SMTP_STARTTLS``);
STARTTLS verifies the server with the same CAs as every other outgoing connection.
SMTP's own codes decide retries: 4xx and lost connections are temporary, 5xx final.
A recovery mail replies to the alert's mail, so mail clients show them as one thread.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from medic.config import Settings
from medic.net.tls import client_ssl_context
from medic.notify.message import Message, Outcome, Target

SUBJECT_MAX = 200


class EmailSender:
    """Deliver a Message by SMTP to the target's recipients, one attempt per call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, target: Target, message: Message) -> Outcome:
        settings = self.settings
        if not settings.smtp_host:
            return Outcome.refused("SMTP_HOST is not set")
        try:
            recipients = _recipients(target.config)
        except ValueError as exc:
            return Outcome.refused(f"email target {target.name!r}: {exc}")
        envelope_from = parseaddr(settings.smtp_from)[1] or settings.smtp_from
        try:
            mail = build_email(message, settings.smtp_from, recipients)
        except ValueError as exc:
            return Outcome.refused(f"cannot build the email (check SMTP_FROM): {exc}")
        envelope_to = [parseaddr(recipient)[1] for recipient in recipients]
        try:
            context = client_ssl_context(settings.medic_extra_ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            return Outcome.refused(f"cannot load MEDIC_EXTRA_CA_BUNDLE: {exc}")
        try:
            timeout = settings.medic_notify_timeout_seconds
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls(context=context)
                if settings.smtp_username:
                    smtp.login(settings.smtp_username, settings.smtp_password or "")
                refused = smtp.send_message(mail, from_addr=envelope_from, to_addrs=envelope_to)
        except smtplib.SMTPRecipientsRefused as exc:
            return _recipients_refused(exc.recipients)
        except smtplib.SMTPNotSupportedError as exc:
            return Outcome.refused(f"SMTP server: {exc}")
        except smtplib.SMTPResponseException as exc:
            return _by_code(exc.smtp_code, _text(exc.smtp_error))
        except smtplib.SMTPServerDisconnected as exc:
            return Outcome.failed(f"SMTP server disconnected: {exc}")
        except smtplib.SMTPException as exc:
            return Outcome.failed(f"SMTP error: {exc}")
        except TimeoutError:
            return Outcome.failed(f"SMTP timed out after {timeout:g} s")
        except OSError as exc:  # refused connection, DNS, TLS handshake
            return Outcome.failed(f"cannot reach SMTP server: {exc}")
        reference: dict[str, Any] = {"message_id": mail["Message-ID"]}
        if refused:  # some recipients accepted: a retry would mail them twice
            reference["refused_recipients"] = {
                address: f"{code} {_text(text)}" for address, (code, text) in refused.items()
            }
        return Outcome.sent(None, **reference)


def build_email(message: Message, sender: str, recipients: list[str]) -> EmailMessage:
    """The mail for `message`: subject is the summary, body the facts one per line."""
    mail = EmailMessage()
    mail["Subject"] = _one_line(message.summary(), SUBJECT_MAX)
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = format_datetime(datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2] or "medic.invalid"
    mail["Message-ID"] = make_msgid(f"medic.{message.notification_id}", domain=domain)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    mail["X-Medic-Event"] = message.kind
    opened = message.opened_reference.get("message_id")
    if isinstance(opened, str) and opened:
        mail["In-Reply-To"] = opened
        mail["References"] = opened
    mail.set_content(body_text(message))
    return mail


def body_text(message: Message) -> str:
    """The plain-text body: service, team, priority, since, reason, runbook, link."""
    service, alert, window = message.service, message.alert, message.window
    since = (service.state_changed_at if service else None) or (
        alert.created_date if alert else None
    )
    lines: list[tuple[str, str | None]] = []
    if service is not None:
        name = service.display_name
        if service.service_name and service.service_name != service.heartbeat_name:
            name += f" (heartbeat {service.heartbeat_name})"
        lines += [
            ("Service", name),
            ("Team", service.team),
            ("Priority", service.priority),
            ("Since", _when(since) if since else None),
            ("Reason", service.state_reason if message.kind == "alert.opened" else None),
            ("Runbook", service.runbook),
            ("Link", message.service_url),
        ]
    if window is not None:
        lines += [
            ("Window", window.name),
            ("Reason", window.reason),
            ("Ends", _when(window.ends_at) if window.ends_at else None),
        ]
    if alert is not None and alert.acknowledged_by:
        lines.append(("Acknowledged by", alert.acknowledged_by))
    facts = "\n".join(f"{label + ':':<17}{value}" for label, value in lines if value)
    return f"{message.summary()}\n\n{facts}\n\n-- \nMedic, {message.medic_url}\n"


def _recipients(config: dict[str, Any]) -> list[str]:
    to = config.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to:
        raise ValueError("config needs 'to', a list of email addresses")
    recipients: list[str] = []
    for entry in to:
        if not isinstance(entry, str) or any(c in entry for c in "\r\n\0"):
            raise ValueError(f"{entry!r} is not an email address")
        address = parseaddr(entry.strip())[1]
        if "@" not in address:
            raise ValueError(f"{entry!r} is not an email address")
        recipients.append(entry.strip())
    return recipients


def _recipients_refused(refusals: dict[str, tuple[int, bytes]]) -> Outcome:
    """Every recipient was refused: final if every refusal was, else worth a retry."""
    detail = "; ".join(f"{who}: {code} {_text(text)}" for who, (code, text) in refusals.items())
    if all(code >= 500 for code, _ in refusals.values()):
        return Outcome.refused(f"recipients refused: {detail}")
    return Outcome.failed(f"recipients refused: {detail}")


def _by_code(code: int, text: str) -> Outcome:
    if 500 <= code < 600:
        return Outcome.refused(f"SMTP {code}: {text}")
    return Outcome.failed(f"SMTP {code}: {text}")


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())


def _one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _when(moment: datetime) -> str:
    """Medic stores naive UTC; say so."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
