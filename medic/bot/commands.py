"""`/medic …` text to a typed command, with no I/O: what people type is tested on its own,
and the handlers only ever see well-formed commands."""

from __future__ import annotations

import re
from dataclasses import dataclass

USAGE = {
    "help": "`/medic help` — this message",
    "status": "`/medic status [name]` — one service, or a summary of all of them",
    "list": "`/medic list [team]` — services and their state",
    "mute": "`/medic mute <name> [duration] [reason…]` — silence alerts (default: auto-unmute)",
    "unmute": "`/medic unmute <name>` — alerts flow again",
    "alerts": "`/medic alerts` — open alerts",
    "ack": "`/medic ack <alert id>` — someone is on it",
    "maintenance": (
        "`/medic maintenance <name|all> <duration> [reason…]` — a maintenance window from now"
    ),
    "run": "`/medic run <playbook> [service]` — start a playbook (approvers decide if it asks)",
}
HELP_TEXT = "*Medic* — what you can type:\n" + "\n".join(f"• {line}" for line in USAGE.values())
DURATIONS_HINT = "durations look like 30m, 2h, 1h30m or 1d"


@dataclass(frozen=True)
class Help:
    """Also the answer to anything not understood; `problem` says what was wrong."""

    problem: str | None = None


@dataclass(frozen=True)
class Status:
    name: str | None = None


@dataclass(frozen=True)
class ListServices:
    team: str | None = None


@dataclass(frozen=True)
class Mute:
    name: str
    # As typed; the mute command parses it. None: ALERT_AUTO_UNMUTE_HOURS.
    duration: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Unmute:
    name: str


@dataclass(frozen=True)
class Alerts:
    pass


@dataclass(frozen=True)
class Ack:
    alert_id: int


@dataclass(frozen=True)
class Maintenance:
    # None: every service.
    name: str | None
    # As typed; the maintenance window command parses it.
    duration: str
    reason: str | None = None


@dataclass(frozen=True)
class Run:
    playbook: str
    # None: the playbook runs without a service (allowed unless it checks a heartbeat).
    service: str | None = None


Command = Help | Status | ListServices | Mute | Unmute | Alerts | Ack | Maintenance | Run
# Commands that change something: only MEDIC_SLACK_OPERATORS may run them.
WRITES = (Mute, Unmute, Ack, Maintenance, Run)


def parse(text: str) -> Command:
    """Parse what followed `/medic`. Never raises: bad input becomes Help with a reason."""
    words = text.split()
    if not words:
        return Help()
    verb = words[0].lower()
    rest = text.strip()[len(words[0]) :].strip()
    parser = _PARSERS.get(verb)
    if parser is None:
        return Help(f"I don't know `{_shorten(words[0])}`.")
    return parser(rest)


def _help(_rest: str) -> Command:
    return Help()


def _status(rest: str) -> Command:
    return Status(rest or None)


def _list(rest: str) -> Command:
    return ListServices(rest or None)


def _alerts(rest: str) -> Command:
    return Alerts() if not rest else _usage("alerts")


def _mute(rest: str) -> Command:
    parts = rest.split(maxsplit=2)
    if not parts:
        return _usage("mute")
    name, after = parts[0], parts[1:]
    duration: str | None = None
    if after and _looks_like_duration(after[0]):
        if not _DURATION.fullmatch(after[0]):
            return Help(
                f"invalid duration {_shorten(after[0])!r}; {DURATIONS_HINT}. {USAGE['mute']}"
            )
        duration, after = after[0], after[1:]
    reason = " ".join(after).strip() or None
    return Mute(name, duration, reason)


def _unmute(rest: str) -> Command:
    parts = rest.split()
    return Unmute(parts[0]) if len(parts) == 1 else _usage("unmute")


def _ack(rest: str) -> Command:
    parts = rest.split()
    if len(parts) != 1:
        return _usage("ack")
    number = parts[0].removeprefix("#")
    if not number.isdigit() or not 0 < int(number) < 2**31:
        return Help(f"`{_shorten(parts[0])}` is not an alert id. {USAGE['ack']}")
    return Ack(int(number))


def _maintenance(rest: str) -> Command:
    parts = rest.split(maxsplit=2)
    if len(parts) < 2:
        return _usage("maintenance")
    target, duration = parts[0], parts[1]
    if not _DURATION.fullmatch(duration):
        return Help(
            f"invalid duration {_shorten(duration)!r}; {DURATIONS_HINT}. {USAGE['maintenance']}"
        )
    reason = parts[2].strip() if len(parts) > 2 else None
    return Maintenance(None if target.lower() == "all" else target, duration, reason or None)


def _run(rest: str) -> Command:
    parts = rest.split()
    if not 1 <= len(parts) <= 2:
        return _usage("run")
    return Run(parts[0], parts[1] if len(parts) == 2 else None)


# The shape of a duration; its value (zero, too long) is the mute or maintenance
# window command's to judge.
_DURATION = re.compile(r"([0-9]+[smhdw])+|[0-9]+", re.IGNORECASE)


def _looks_like_duration(word: str) -> bool:
    """`2h` is a duration, `deploying` starts the reason; `2x` is a mistyped duration."""
    return word[:1].isdigit()


def _usage(verb: str) -> Help:
    return Help(f"Usage: {USAGE[verb]}")


def _shorten(word: str, limit: int = 40) -> str:
    """What the user typed, quoted back: short, and inert as Slack mrkdwn."""
    cleaned = word.replace("`", "'")
    short = cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
    return short.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_PARSERS = {
    "help": _help,
    "status": _status,
    "list": _list,
    "mute": _mute,
    "unmute": _unmute,
    "alerts": _alerts,
    "ack": _ack,
    "maintenance": _maintenance,
    "run": _run,
}
