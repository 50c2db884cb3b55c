"""Playbook definitions (SRE-18): YAML text in, a validated, frozen definition out.

Pure: no database, no I/O. Every error names the YAML line and the field path
(`line 12: steps[0].type: must be one of webhook, script, wait, condition`), because
people write these files by hand and must find their mistake without guessing.

The YAML is composed into nodes (`yaml.compose`, safe loader) rather than loaded, so
each value keeps the line it came from, duplicate keys are caught (PyYAML would keep
the last one silently), and aliases are refused outright: with them a small document
can expand into a huge one. Durations are stored in seconds and defaults are filled
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
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import yaml
from yaml.composer import ComposerError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from medic.core.durations import parse_duration

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
STEP_TYPES = ("webhook", "script", "wait", "condition")
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


Step = WebhookStep | ScriptStep | WaitStep | ConditionStep


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

_REFERENCE = re.compile(r"\$(\$|\{([^}]*)\}|\{)")


def variables_in(text: str) -> Iterator[str]:
    """Each `${...}` reference in `text`, in order (`$$` is a literal `$`). Raises
    ValueError for an unterminated `${` or an unknown name."""
    for match in _REFERENCE.finditer(text):
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


# --- YAML to located values -----------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """The safe loader's composer, refusing aliases and deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ComposerError(
                None, None, "aliases (*name) are not allowed in a playbook", event.start_mark
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()
                raise ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_TAG = "tag:yaml.org,2002:"


def dotted(path: Path) -> str:
    """("steps", 0, "url") -> "steps[0].url"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class _Document:
    """The document as plain values plus the line each path is written on: a mapping
    entry's line is its key's, a list item's is its own. Problems pile up in `issues`."""

    def __init__(self) -> None:
        self.lines: dict[Path, int] = {}
        self.issues: list[Issue] = []

    def line(self, path: Path) -> int:
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def fail(self, path: Path, message: str, line: int | None = None) -> None:
        self.issues.append(Issue(line or self.line(path), dotted(path), message))

    def value(self, node: Node, path: Path, line: int) -> Any:
        self.lines[path] = line
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != _TAG + "seq":
                self.fail(path, f"unsupported YAML tag {_shown(node.tag)}")
                return None
            return [
                self.value(item, (*path, index), item.start_mark.line + 1)
                for index, item in enumerate(node.value)
            ]
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        self.fail(path, "unsupported YAML node")
        return None

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any] | None:
        if node.tag != _TAG + "map":
            self.fail(path, f"unsupported YAML tag {_shown(node.tag)}")
            return None
        result: dict[str, Any] = {}
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _TAG + "merge":
                self.fail(path, "merge keys (<<) are not allowed", line)
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag != _TAG + "str":
                shown = key_node.value if isinstance(key_node, ScalarNode) else "a collection"
                self.fail(path, f"key {shown!r} must be a string (quote it)", line)
                continue
            key = key_node.value
            if "\x00" in key:
                self.fail(path, "a key must not contain NUL characters", line)
                continue
            if key in first:
                self.fail((*path, key), f"duplicate key (first on line {first[key]})", line)
                continue
            first[key] = line
            result[key] = self.value(value_node, (*path, key), line)
        return result

    def _scalar(self, node: ScalarNode, path: Path) -> Any:
        tag = node.tag.removeprefix(_TAG)
        if tag in ("str", "timestamp"):  # a date stays the text it was written as
            if "\x00" in node.value:
                self.fail(path, "must not contain NUL characters")
                return None
            return node.value
        if tag == "null":
            return None
        if tag == "bool":
            return _CONSTRUCTOR.construct_yaml_bool(node)
        if tag == "int":
            return _CONSTRUCTOR.construct_yaml_int(node)
        if tag == "float":
            number = _CONSTRUCTOR.construct_yaml_float(node)
            if math.isfinite(number):
                return number
            self.fail(path, f"{node.value} is not a JSON number")
            return None
        self.fail(path, f"unsupported YAML tag {_shown(node.tag)}")
        return None


_CONSTRUCTOR = SafeConstructor()


def _shown(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _compose(text: str) -> tuple[Any, _Document]:
    size = len(text.encode("utf-8"))
    if size > MAX_SOURCE_BYTES:
        raise PlaybookError(
            [Issue(1, "", f"the playbook is {size} bytes; at most {MAX_SOURCE_BYTES} allowed")]
        )
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark:
            problem += f" ({exc.context} on line {exc.context_mark.line + 1})"
        raise PlaybookError([Issue(mark.line + 1 if mark else 1, "", problem)]) from None
    except yaml.YAMLError as exc:
        raise PlaybookError([Issue(1, "", f"not readable as YAML: {exc}")]) from None
    if node is None:
        raise PlaybookError([Issue(1, "", "the playbook is empty; it needs a name and steps")])
    document = _Document()
    data = document.value(node, (), node.start_mark.line + 1)
    if document.issues:  # YAML the schema cannot even be checked against
        raise PlaybookError(document.issues)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        document.fail((), f"the playbook must be a YAML mapping (name, steps, ...), not {kind}")
        raise PlaybookError(document.issues)
    return data, document


# --- validation ------------------------------------------------------------------------


_MISSING = object()


class _Fields:
    """One mapping being read: `take` each known key; `done` reports the unknown ones."""

    def __init__(self, document: _Document, path: Path, data: dict[str, Any]) -> None:
        self.document = document
        self.path = path
        self.data = data
        self.known: list[str] = []

    def take(self, key: str, required: bool = False, what: str = "") -> Any:
        self.known.append(key)
        value = self.data.get(key, _MISSING)
        if value is _MISSING and required:
            self.document.fail(
                (*self.path, key), f"is required{what}", self.document.line(self.path)
            )
        return value

    def done(self) -> None:
        for key in self.data:
            if key not in self.known:
                self.document.fail(
                    (*self.path, key), f"unknown key (allowed: {', '.join(self.known)})"
                )


class _Invalid(Exception):
    """One field's value is wrong; the message is recorded against the field's path."""


def _check(document: _Document, path: Path, value: Any, rule: Callable[[Any], Any]) -> Any:
    """`rule(value)`, or _MISSING with the problem recorded at `path`."""
    try:
        return rule(value)
    except _Invalid as exc:
        document.fail(path, str(exc))
        return _MISSING


def _text(limit: int = MAX_TEXT) -> Callable[[Any], str]:
    def rule(value: Any) -> str:
        if not isinstance(value, str):
            raise _Invalid(f"must be a string, not {_kind(value)}")
        if len(value) > limit:
            raise _Invalid(f"must be at most {limit} characters")
        return value

    return rule


def _pattern(regex: re.Pattern[str], hint: str) -> Callable[[Any], str]:
    def rule(value: Any) -> str:
        text = _text()(value)
        if not regex.fullmatch(text):
            raise _Invalid(f"{text!r} {hint}")
        return text

    return rule


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def rule(value: Any) -> str:
        if value not in options:
            raise _Invalid(f"must be one of {', '.join(options)}")
        return value

    return rule


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def rule(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"must be a whole number, not {_kind(value)}")
        if not low <= value <= high:
            raise _Invalid(f"must be between {low} and {high}")
        return value

    return rule


def _duration(low: int, high: int) -> Callable[[Any], int]:
    def rule(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, str) or value.strip().isdigit():
            raise _Invalid("must be a duration with a unit, like 30s, 5m or 1h")
        try:
            seconds = int(parse_duration(value).total_seconds())
        except ValueError as exc:
            raise _Invalid(str(exc)) from None
        if not low <= seconds <= high:
            raise _Invalid(f"must be between {_seconds(low)} and {_seconds(high)}")
        return seconds

    return rule


def _seconds(seconds: int) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a list" if isinstance(value, list) else "a mapping"
    )


def _mapping(document: _Document, path: Path, value: Any) -> _Fields | None:
    if isinstance(value, dict):
        return _Fields(document, path, value)
    document.fail(path, f"must be a mapping, not {_kind(value)}")
    return None


def _approval(value: Any) -> Approval:
    if value in ("none", "required"):
        return Approval(value)
    shape = "must be none, required or timeout:<N>m (like timeout:30m)"
    if not isinstance(value, str) or not value.startswith("timeout:"):
        raise _Invalid(shape)
    match = re.fullmatch(r"(\d{1,6})m", value.removeprefix("timeout:"))
    if match is None:
        raise _Invalid(shape)
    minutes = int(match.group(1))
    if not 1 <= minutes <= MAX_APPROVAL_MINUTES:
        raise _Invalid(f"the timeout must be between 1 and {MAX_APPROVAL_MINUTES} minutes")
    return Approval("timeout", minutes)


def _url(value: Any) -> str:
    text = _text(MAX_URL)(value)
    bare = _REFERENCE.sub("x", text)
    parts = urlsplit(bare)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Invalid("must be an http:// or https:// URL")
    if "@" in parts.netloc:
        raise _Invalid("must not carry credentials; send them in a header from ${secrets.NAME}")
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in text):
        raise _Invalid("must not contain spaces or control characters")
    return text


def _status_ranges(value: Any) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list) or not value:
        raise _Invalid('must be a list of status codes or ranges, like [200, 204] or ["200-299"]')
    ranges: list[tuple[int, int]] = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            low = high = item
        elif isinstance(item, str) and re.fullmatch(r"\d{3}-\d{3}", item):
            low, high = (int(part) for part in item.split("-"))
        else:
            raise _Invalid(f"{item!r} is not a status code or a range like '200-299'")
        if not 100 <= low <= high <= 599:
            raise _Invalid(f"{item!r}: status codes are 100 to 599, low to high")
        ranges.append((low, high))
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return tuple(merged)


def _walk_strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_strings(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_strings(key, (*path, key))
            yield from _walk_strings(item, (*path, key))


def _check_variables(document: _Document, data: dict[str, Any]) -> None:
    for path, text in _walk_strings(data, ()):
        try:
            for _ in variables_in(text):
                pass
        except ValueError as exc:
            document.fail(path, str(exc))


class _Reader:
    """Validation of the whole document, field by field, into the dataclasses. A part
    is built only when reading it recorded no issue; every issue is kept for the report."""

    def __init__(self, document: _Document) -> None:
        self.document = document

    def read(self, fields: _Fields, key: str, rule: Callable[[Any], Any], **kw: Any) -> Any:
        value = fields.take(key, **kw)
        if value is _MISSING:
            return _MISSING
        return _check(self.document, (*fields.path, key), value, rule)

    def clean_since(self, mark: int) -> bool:
        return len(self.document.issues) == mark

    def playbook(self, data: dict[str, Any]) -> PlaybookDefinition | None:
        fields = _Fields(self.document, (), data)
        name = self.read(
            fields,
            "name",
            _pattern(NAME, "must be lowercase letters, digits and -, at most 63 characters"),
            required=True,
        )
        description = self.read(fields, "description", _optional(_text(MAX_DESCRIPTION)))
        trigger = self.trigger(fields)
        approval = self.read(fields, "approval", _approval)
        steps = self.steps(fields)
        fields.done()
        if self.document.issues:
            return None
        return PlaybookDefinition(
            name=name,
            description=None if description is _MISSING else description,
            trigger=trigger,
            approval=Approval("required") if approval is _MISSING else approval,
            steps=steps,
        )

    def trigger(self, parent: _Fields) -> Trigger | None:
        value = parent.take("trigger")
        if value is _MISSING or value is None:
            return None
        fields = _mapping(self.document, ("trigger",), value)
        if fields is None:
            return None
        mark = len(self.document.issues)
        values = {
            "service_pattern": self.read(
                fields, "service_pattern", _service_pattern, required=True
            ),
            "consecutive_failures": self.read(
                fields, "consecutive_failures", _integer(1, MAX_CONSECUTIVE_FAILURES)
            ),
        }
        fields.done()
        return Trigger(**_present(values)) if self.clean_since(mark) else None

    def steps(self, parent: _Fields) -> tuple[Step, ...]:
        value = parent.take("steps", required=True)
        if value is _MISSING:
            return ()
        if not isinstance(value, list) or not value:
            self.document.fail(("steps",), "must be a list of at least one step")
            return ()
        if len(value) > MAX_STEPS:
            self.document.fail(("steps",), f"at most {MAX_STEPS} steps, not {len(value)}")
            return ()
        steps: list[Step] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(value):
            path: Path = ("steps", index)
            fields = _mapping(self.document, path, item)
            step = None if fields is None else self.step(fields)
            if step is None:
                continue
            if step.name in seen:
                self.document.fail(
                    (*path, "name"),
                    f"duplicate step name {step.name!r} (also steps[{seen[step.name]}])",
                )
            seen.setdefault(step.name, index)
            steps.append(step)
        return tuple(steps)

    def step(self, fields: _Fields) -> Step | None:
        mark = len(self.document.issues)
        name = self.read(
            fields,
            "name",
            _pattern(STEP_NAME, "must be lowercase letters, digits, _ and -"),
            required=True,
        )
        kind = self.read(fields, "type", _choice(STEP_TYPES), required=True)
        if kind is _MISSING:
            return None  # which other keys belong here depends on the type
        values, build = getattr(self, f"_{kind}")(fields)
        fields.done()
        if not self.clean_since(mark):
            return None
        return build(name=name, **_present(values))

    def _webhook(self, fields: _Fields) -> tuple[dict[str, Any], type[Step]]:
        return {
            "url": self.read(fields, "url", _url, required=True, what=" for a webhook step"),
            "method": self.read(fields, "method", _method),
            "headers": self.headers(fields),
            "body": fields.take("body"),
            "success_status": self.read(fields, "success_status", _status_ranges),
            "success_json": self.success_json(fields),
            "timeout_seconds": self.read(fields, "timeout", _duration(*WEBHOOK_TIMEOUT)),
        }, WebhookStep

    def headers(self, parent: _Fields) -> Any:
        value = parent.take("headers")
        path: Path = (*parent.path, "headers")
        if value is _MISSING or value is None:
            return _MISSING
        if not isinstance(value, dict):
            self.document.fail(
                path, f"must be a mapping of header names to values, not {_kind(value)}"
            )
            return _MISSING
        if len(value) > MAX_HEADERS:
            self.document.fail(path, f"at most {MAX_HEADERS} headers")
            return _MISSING
        headers: dict[str, str] = {}
        for key, item in value.items():
            item_path: Path = (*path, key)
            if not HEADER_NAME.fullmatch(key):
                self.document.fail(item_path, "is not a valid header name")
                continue
            text = _check(self.document, item_path, item, _header_value)
            if text is _MISSING:
                continue
            if CREDENTIAL_HEADER.search(key) and "${secrets." not in text:
                self.document.fail(
                    item_path, "credentials must come from a secret: write ${secrets.NAME} here"
                )
                continue
            headers[key] = text
        return headers

    def success_json(self, parent: _Fields) -> Any:
        value = parent.take("success_json")
        if value is _MISSING or value is None:
            return _MISSING
        fields = _mapping(self.document, (*parent.path, "success_json"), value)
        if fields is None:
            return _MISSING
        path = self.read(
            fields,
            "path",
            _pattern(JSON_PATH, "must be a dotted path of keys, like status or data.state"),
            required=True,
        )
        equals = fields.take("equals", required=True)
        fields.done()
        if path is _MISSING or equals is _MISSING:
            return _MISSING
        return SuccessJson(path, equals)

    def _script(self, fields: _Fields) -> tuple[dict[str, Any], type[Step]]:
        return {
            "script": self.read(
                fields,
                "script",
                _pattern(SCRIPT_NAME, "is not a script name (letters, digits, _ . -)"),
                required=True,
                what=" for a script step",
            ),
            "args": self.read(fields, "args", _args),
            "timeout_seconds": self.read(fields, "timeout", _duration(*SCRIPT_TIMEOUT)),
        }, ScriptStep

    def _wait(self, fields: _Fields) -> tuple[dict[str, Any], type[Step]]:
        duration = self.read(
            fields, "duration", _duration(*WAIT_DURATION), required=True, what=" for a wait step"
        )
        return {"duration_seconds": duration}, WaitStep

    def _condition(self, fields: _Fields) -> tuple[dict[str, Any], type[Step]]:
        return {
            "check": self.read(
                fields, "check", _choice(CHECKS), required=True, what=" for a condition step"
            ),
            "timeout_seconds": self.read(fields, "timeout", _duration(*CONDITION_TIMEOUT)),
            "on_failure": self.read(fields, "on_failure", _choice(ON_FAILURE)),
        }, ConditionStep


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """The fields given; those left out take the dataclass's default."""
    return {key: value for key, value in values.items() if value is not _MISSING}


def _optional(rule: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else rule(value)


def _service_pattern(value: Any) -> str:
    text = _text(255)(value).strip()
    if not text:
        raise _Invalid("must not be empty")
    if "${" in text:
        raise _Invalid("is a glob like worker-*, not a template; variables are not allowed here")
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise _Invalid("must not contain control characters")
    return text


def _method(value: Any) -> str:
    text = _text(16)(value).upper()
    return _choice(METHODS)(text)


def _header_value(value: Any) -> str:
    text = _text()(value)
    if "\r" in text or "\n" in text:
        raise _Invalid("must be one line")
    return text


def _args(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid(f"must be a list of strings, not {_kind(value)}")
    if len(value) > MAX_ARGS:
        raise _Invalid(f"at most {MAX_ARGS} arguments")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise _Invalid(f"[{index}] must be a string (quote it), not {_kind(item)}")
    return tuple(value)


def parse_playbook(text: str) -> PlaybookDefinition:
    """Validate YAML `text` into a definition; PlaybookError names every problem's line."""
    data, document = _compose(text)
    _check_variables(document, data)
    definition = _Reader(document).playbook(data)
    if document.issues or definition is None:
        raise PlaybookError(document.issues or [Issue(1, "", "invalid playbook")])
    return definition
