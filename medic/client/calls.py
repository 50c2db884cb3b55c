"""The requests a job's reports become, built without any I/O, so the sync client, the
async client, the decorator and `medic exec` send exactly the same thing.

By name (needs a key): `POST /v2/heartbeats` `{heartbeat_name, status, run_id?,
message?, monitor?}`. By ping URL (the URL is the credential): `POST <url>/start`,
`<url>/<exit status>` or `<url>/fail`, `?rid=` the run id, the body the message.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

# Medic keeps 100 kB of a message; a client sends no more than this of it.
MAX_MESSAGE_CHARS = 20_000
STATUSES = ("UP", "DOWN", "DEGRADED", "STARTED", "COMPLETED", "FAILED")
Duration = int | float | timedelta | str
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)", re.I)
_WHAT = {"STARTED": "start", "COMPLETED": "completion", "FAILED": "failure"}
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Call:
    """One HTTP request to Medic: `url` absolute (ping URLs) or a path under the
    client's base URL; `what` names it in warnings."""

    method: str
    url: str
    what: str
    json: dict[str, Any] | None = None
    content: bytes | None = None
    params: dict[str, str] = field(default_factory=dict)
    needs_key: bool = True


def seconds(value: Duration, what: str) -> int:
    """A duration in whole seconds: a number of seconds, a timedelta, or text such as
    "90", "45s", "30m", "1h30m", "2d"."""
    if isinstance(value, timedelta):
        total = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        total = float(value)
    elif isinstance(value, str) and _is_duration(value):
        total = sum(
            float(number) * _UNIT_SECONDS[unit.lower()]
            for number, unit in _DURATION_PART.findall(value)
        )
    else:
        raise ValueError(f"{what}: {value!r} is not a duration (e.g. 90, '45s', '30m', '1h')")
    if not math.isfinite(total) or total < 0:
        raise ValueError(f"{what}: a duration cannot be negative")
    return math.ceil(total)


def _is_duration(text: str) -> bool:
    text = text.strip()
    return bool(text) and _DURATION_PART.sub("", text).strip() == ""


@dataclass(frozen=True)
class MonitorConfig:
    """How Medic should watch a job, sent with its heartbeats and starts so a key with
    `write` scope creates or updates the service: a cron expression or an interval such
    as '1h', an IANA timezone, the longest a run may take and the grace period."""

    schedule: str | None = None
    timezone: str | None = None
    max_runtime_seconds: int | None = None
    grace_seconds: int | None = None

    @classmethod
    def of(
        cls,
        schedule: str | None = None,
        timezone: str | None = None,
        max_runtime: Duration | None = None,
        grace: Duration | None = None,
    ) -> MonitorConfig | None:
        """The configuration, or None when nothing was given (then none is sent)."""
        if schedule is None and timezone is None and max_runtime is None and grace is None:
            return None
        if schedule is not None and not schedule.strip():
            raise ValueError("schedule: give a cron expression or an interval such as '1h'")
        runtime = None if max_runtime is None else seconds(max_runtime, "max_runtime")
        if runtime == 0:
            raise ValueError("max_runtime: must be more than 0 seconds")
        return cls(
            schedule=schedule.strip() if schedule is not None else None,
            timezone=timezone,
            max_runtime_seconds=runtime,
            grace_seconds=None if grace is None else seconds(grace, "grace"),
        )

    def to_json(self) -> dict[str, Any]:
        fields = {
            "schedule": self.schedule,
            "timezone": self.timezone,
            "max_runtime_seconds": self.max_runtime_seconds,
            "grace_seconds": self.grace_seconds,
        }
        return {key: value for key, value in fields.items() if value is not None}


def clip(message: str | None) -> str | None:
    """At most MAX_MESSAGE_CHARS of a message, keeping its end (where errors are)."""
    if message is None or len(message) <= MAX_MESSAGE_CHARS:
        return message
    return "…" + message[-(MAX_MESSAGE_CHARS - 1) :]


def heartbeat_call(
    name: str,
    status: str = "UP",
    run_id: str | None = None,
    message: str | None = None,
    monitor: MonitorConfig | None = None,
) -> Call:
    status = status.strip().upper()
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    body: dict[str, Any] = {"heartbeat_name": name, "status": status}
    if run_id is not None:
        body["run_id"] = run_id
    if message is not None:
        body["message"] = clip(message)
    if monitor is not None:
        body["monitor"] = monitor.to_json()
    what = _WHAT.get(status, f"{status} heartbeat")
    return Call("POST", "/v2/heartbeats", f"{what} of {name!r}", json=body)


def ping_call(
    url: str, signal: str | int | None = None, run_id: str | None = None, message: str | None = None
) -> Call:
    """A ping: None (success), "start", "fail" or an exit status (0 is success). A query
    the URL carries (`?create=1`) is kept."""
    parts = urlsplit(url)
    base = urlunsplit(parts._replace(path=parts.path.rstrip("/"), query=""))
    if signal is None:
        target, what = base, "ping"
    elif signal in ("start", "fail"):
        target, what = f"{base}/{signal}", f"{signal} ping"
    elif isinstance(signal, int) and not isinstance(signal, bool) and 0 <= signal <= 255:
        target, what = f"{base}/{signal}", f"exit status {signal} ping"
    else:
        raise ValueError("signal must be None, 'start', 'fail' or an exit status from 0 to 255")
    clipped = clip(message)
    content = clipped.encode() if clipped is not None else None
    params = dict(parse_qsl(parts.query))
    if run_id is not None:
        params["rid"] = run_id
    return Call("POST", target, what, content=content, params=params, needs_key=False)


@dataclass(frozen=True)
class Job:
    """Where one job's runs are reported: by `name` (with a key), or at `ping_url`."""

    name: str | None = None
    ping_url: str | None = None
    monitor: MonitorConfig | None = None

    def __post_init__(self) -> None:
        if (self.name is None) == (self.ping_url is None):
            raise ValueError("give exactly one of a job name and a ping URL")
        if self.ping_url is not None and self.monitor is not None:
            raise ValueError(
                "a ping URL cannot configure its monitor (schedule, timezone, max runtime,"
                " grace): report by name with a key instead"
            )

    @property
    def label(self) -> str:
        return self.name if self.name is not None else "the ping URL"

    def start(self, run_id: str, message: str | None = None) -> Call:
        if self.name is None:
            return ping_call(self.ping_url or "", "start", run_id, message)
        return heartbeat_call(self.name, "STARTED", run_id, message, self.monitor)

    def end(
        self, run_id: str, ok: bool, message: str | None = None, exit_code: int | None = None
    ) -> Call:
        """COMPLETED or FAILED; a ping URL carries the exit status when there is one."""
        if self.name is not None:
            return heartbeat_call(self.name, "COMPLETED" if ok else "FAILED", run_id, message)
        if exit_code is not None and 0 <= exit_code <= 255 and (exit_code == 0) == ok:
            signal: str | int = exit_code
        else:
            signal = 0 if ok else "fail"
        return ping_call(self.ping_url or "", signal, run_id, message)
