"""Playbook definitions (SRE-18): what a validated playbook is, frozen, and its limits.

Pure: no database, no I/O. `medic.core.playbook_parsing.parse_playbook` turns YAML
text into a PlaybookDefinition. Durations are stored in seconds and defaults are filled
in, so `canonical()` and `content_hash()` describe what a playbook does, not how its
YAML was formatted: re-applying reformatted or re-commented YAML changes nothing.

Strings may reference `${SERVICE_NAME}`, `${HEARTBEAT_NAME}`, `${ALERT_ID}`,
`${EXECUTION_ID}` and `${secrets.NAME}`; `$$` is a literal `$`. Anything else inside
`${...}` is an error. Credentials are never written in a definition: they are
referenced as `${secrets.NAME}` (a URL with a password, or a credential header whose
value references no secret, is refused).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, ClassVar, Literal

MAX_SOURCE_BYTES = 64 * 1024
MAX_DEPTH = 32
MAX_STEPS = 50
MAX_ISSUES = 20
MAX_APPROVAL_MINUTES = 24 * 60
MAX_CONSECUTIVE_FAILURES = 1000
MAX_DESCRIPTION = 2000
MAX_URL = 2048
MAX_HEADERS = 50
MAX_ARGS = 100
MAX_TEXT = 4096

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
STEP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
SCRIPT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
JSON_PATH = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")

VARIABLES = ("SERVICE_NAME", "HEARTBEAT_NAME", "ALERT_ID", "EXECUTION_ID")
STEP_TYPES = ("webhook", "script", "wait", "condition", "agent")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CHECKS = ("heartbeat_received",)
ON_FAILURE = ("escalate", "fail", "continue")
# Headers that carry credentials: their value must come from ${secrets.NAME}.
CREDENTIAL_HEADER = re.compile(
    r"^(authorization|proxy-authorization|cookie)$|token|secret|password|api-?key",
    re.IGNORECASE,
)

# (lowest, highest) seconds per duration field.
WEBHOOK_TIMEOUT = (1, 5 * 60)
SCRIPT_TIMEOUT = (1, 60 * 60)
AGENT_TIMEOUT = (1, 60 * 60)
WAIT_DURATION = (1, 24 * 60 * 60)
CONDITION_TIMEOUT = (1, 24 * 60 * 60)

Path = tuple[str | int, ...]
ApprovalKind = Literal["none", "required", "timeout"]


# --- the definition ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trigger:
    """Run when a service whose name matches `service_pattern` (an fnmatch glob, case
    insensitive like every name in Medic) has missed `consecutive_failures` deadlines."""

    service_pattern: str
    consecutive_failures: int = 1

    def matches(self, service_name: str) -> bool:
        return fnmatchcase(service_name.casefold(), self.service_pattern.casefold())


@dataclass(frozen=True, slots=True)
class Approval:
    """`none`: runs at once; `required`: waits for a human; `timeout`: a human may
    decline within `minutes`, else it runs."""

    kind: ApprovalKind
    minutes: int | None = None

    def __str__(self) -> str:
        return f"timeout:{self.minutes}m" if self.kind == "timeout" else self.kind


@dataclass(frozen=True, slots=True)
class SuccessJson:
    """The response's JSON value at dotted `path` must equal `equals`."""

    path: str
    equals: Any


@dataclass(frozen=True, slots=True)
class WebhookStep:
    type: ClassVar[str] = "webhook"
    name: str
    url: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    # Accepted status codes as inclusive (low, high) ranges, sorted and merged.
    success_status: tuple[tuple[int, int], ...] = ((200, 299),)
    success_json: SuccessJson | None = None
    timeout_seconds: int = 30

    def accepts(self, status: int) -> bool:
        return any(low <= status <= high for low, high in self.success_status)


@dataclass(frozen=True, slots=True)
class ScriptStep:
    """Runs a pre-registered script by name (never code from the definition)."""

    type: ClassVar[str] = "script"
    name: str
    script: str
    args: tuple[str, ...] = ()
    timeout_seconds: int = 300


@dataclass(frozen=True, slots=True)
class AgentStep:
    """Runs a script on `host` through its medic-agent (SRE-21): the host's own
    allow-list decides whether `script` may run there."""

    type: ClassVar[str] = "agent"
    name: str
    host: str
    script: str
    args: tuple[str, ...] = ()
    timeout_seconds: int = 300


@dataclass(frozen=True, slots=True)
class WaitStep:
    type: ClassVar[str] = "wait"
    name: str
    duration_seconds: int


@dataclass(frozen=True, slots=True)
class ConditionStep:
    """Waits up to `timeout_seconds` for `check` to hold; `on_failure` says what then."""

    type: ClassVar[str] = "condition"
    name: str
    check: str = "heartbeat_received"
    timeout_seconds: int = 300
    on_failure: str = "fail"


Step = WebhookStep | ScriptStep | WaitStep | ConditionStep | AgentStep


@dataclass(frozen=True, slots=True)
class PlaybookDefinition:
    name: str
    steps: tuple[Step, ...]
    description: str | None = None
    trigger: Trigger | None = None
    approval: Approval = field(default_factory=lambda: Approval("required"))


@dataclass(frozen=True, slots=True)
class Issue:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field + ': ' if self.field else ''}{self.message}"


class PlaybookError(ValueError):
    """Every problem found, in line order; str() names each line and field."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = tuple(sorted(issues, key=lambda issue: issue.line)[:MAX_ISSUES])
        super().__init__("; ".join(str(issue) for issue in self.issues))


# --- canonical form -----------------------------------------------------------------


def _step_dict(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = {"name": step.name, "type": step.type}
    if isinstance(step, WebhookStep):
        data |= {
            "url": step.url,
            "method": step.method,
            "headers": dict(sorted(step.headers.items())),
            "body": step.body,
            "success_status": [list(pair) for pair in step.success_status],
            "success_json": None
            if step.success_json is None
            else {"path": step.success_json.path, "equals": step.success_json.equals},
            "timeout_seconds": step.timeout_seconds,
        }
    elif isinstance(step, ScriptStep):
        data |= {"script": step.script, "args": list(step.args)}
        data["timeout_seconds"] = step.timeout_seconds
    elif isinstance(step, AgentStep):
        data |= {"host": step.host, "script": step.script, "args": list(step.args)}
        data["timeout_seconds"] = step.timeout_seconds
    elif isinstance(step, WaitStep):
        data["duration_seconds"] = step.duration_seconds
    else:
        data |= {
            "check": step.check,
            "timeout_seconds": step.timeout_seconds,
            "on_failure": step.on_failure,
        }
    return data


def canonical(definition: PlaybookDefinition) -> dict[str, Any]:
    """What the playbook does, as JSON-able data: defaults filled in, durations in
    seconds, approval as written (`timeout:30m`). Stored beside the YAML source."""
    trigger = definition.trigger
    return {
        "name": definition.name,
        "description": definition.description,
        "trigger": None
        if trigger is None
        else {
            "service_pattern": trigger.service_pattern,
            "consecutive_failures": trigger.consecutive_failures,
        },
        "approval": str(definition.approval),
        "steps": [_step_dict(step) for step in definition.steps],
    }


def content_hash(definition: PlaybookDefinition) -> str:
    """sha256 of the canonical JSON: equal exactly when two definitions behave alike."""
    text = json.dumps(
        canonical(definition), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- variables ----------------------------------------------------------------------

VARIABLE_REFERENCE = re.compile(r"\$(\$|\{([^}]*)\}|\{)")


def variables_in(text: str) -> Iterator[str]:
    """Each `${...}` reference in `text`, in order (`$$` is a literal `$`). Raises
    ValueError for an unterminated `${` or an unknown name."""
    for match in VARIABLE_REFERENCE.finditer(text):
        token = match.group(1)
        if token == "$":
            continue
        if token == "{":
            raise ValueError("unterminated ${ (write $$ for a literal $)")
        name = match.group(2)
        if name in VARIABLES:
            yield name
            continue
        if name.startswith("secrets."):
            if SECRET_NAME.fullmatch(name.removeprefix("secrets.")):
                yield name
                continue
            raise ValueError(
                f"${{{name}}}: a secret's name is letters, digits, _ and - (like secrets.API_TOKEN)"
            )
        raise ValueError(
            f"unknown variable ${{{name}}}; use {', '.join('${' + v + '}' for v in VARIABLES)}"
            " or ${secrets.NAME}"
        )
