"""A notification in plain words, shared by the chat and phone channels (docs/channels.md).

Names, reasons and runbooks come from API clients and job output, so they are hostile
text: every channel escapes them for its own markup. What is common lives here: the
facts worth showing, in order, and the ways to make text inert everywhere (no line
breaks where one line is expected, no `@mention` that pings a whole channel).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from medic.core.links import web_url
from medic.notify.message import Message

# Between "@" and a name, so `@channel`, `@all`, `@here` or `@someone` pings nobody
# and still reads the same (U+2060 WORD JOINER is invisible and not a name character).
WORD_JOINER = "\u2060"

Facts = list[tuple[str, str]]


def facts(message: Message) -> Facts:
    """Label and value for what a person needs, empty values left out; user-chosen
    values are raw here (each channel escapes them)."""
    service, alert, window, execution = (
        message.service,
        message.alert,
        message.window,
        message.execution,
    )
    since = (service.state_changed_at if service else None) or (
        alert.created_date if alert else None
    )
    pairs: list[tuple[str, str | None]] = []
    if service is not None:
        name = service.display_name
        if service.service_name and service.service_name != service.heartbeat_name:
            name += f" (heartbeat {service.heartbeat_name})"
        pairs += [
            ("Service", name),
            ("Team", service.team),
            ("Priority", service.priority.upper()),
            ("Since", utc_text(since) if since else None),
            ("Reason", service.state_reason if message.kind == "alert.opened" else None),
            ("Down for", downtime(message)),
        ]
    if execution is not None:
        pairs += [("Playbook", execution.playbook), ("Error", execution.error)]
    if window is not None:
        pairs += [
            ("Window", window.name),
            ("Why", window.reason),
            ("Ends", utc_text(window.ends_at) if window.ends_at else None),
        ]
    if alert is not None and alert.acknowledged_by:
        pairs.append(("Acknowledged by", alert.acknowledged_by))
    return [(label, value) for label, value in pairs if value]


def links(message: Message) -> list[tuple[str, str]]:
    """Label and URL of the links worth following: the service in Medic, its runbook
    (only an http(s) URL, medic.core.links.web_url) and an approval page."""
    found: list[tuple[str, str]] = []
    if message.service_url:
        found.append(("Open in Medic", message.service_url))
    runbook = message.service.runbook if message.service else None
    if runbook and web_url(runbook):
        found.append(("Runbook", runbook))
    if message.execution is not None and message.execution.approval_url:
        found.append(("Approve or decline", message.execution.approval_url))
    return found


def downtime(message: Message) -> str | None:
    """How long the service was down, on a recovery, when the Message carries it (an
    optional `downtime` timedelta); None otherwise."""
    value = getattr(message, "downtime", None)
    if message.kind != "alert.resolved" or not isinstance(value, timedelta):
        return None
    return duration_text(value)


def duration_text(span: timedelta) -> str:
    """`2h 5m`, `12m 30s`, `45s`: short enough for an SMS."""
    seconds = max(0, int(span.total_seconds()))
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    shown = [f"{value}{unit}" for value, unit in parts if value][:2]
    return " ".join(shown) or "0s"


def utc_text(moment: datetime) -> str:
    """Medic stores naive UTC; say so."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def defuse_mentions(text: str) -> str:
    """`@channel` → `@⁠channel`: reads the same, mentions nobody."""
    return text.replace("@", "@" + WORD_JOINER)


def one_line(text: str) -> str:
    """Line breaks and runs of spaces collapsed: a value cannot start a line of its own
    (a fake heading, a fake "Resolved")."""
    return " ".join(text.split())


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
