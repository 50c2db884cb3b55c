"""Parsing a playbook (SRE-18): YAML text in, a validated, frozen definition out.

Every error names the YAML line and the field path
(`line 12: steps[0].type: must be one of webhook, script, wait, condition, agent`), because
people write these files by hand and must find their mistake without guessing; all
the problems of a file are reported at once (up to MAX_ISSUES).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from medic.core.agents import clean_host
from medic.core.durations import parse_duration
from medic.core.located_yaml import LocatedDocument, compose_playbook
from medic.core.playbook_definition import (
    AGENT_TIMEOUT,
    CHECKS,
    CONDITION_TIMEOUT,
    CREDENTIAL_HEADER,
    HEADER_NAME,
    JSON_PATH,
    MAX_APPROVAL_MINUTES,
    MAX_ARGS,
    MAX_CONSECUTIVE_FAILURES,
    MAX_DESCRIPTION,
    MAX_HEADERS,
    MAX_STEPS,
    MAX_TEXT,
    MAX_URL,
    METHODS,
    NAME,
    ON_FAILURE,
    SCRIPT_NAME,
    SCRIPT_TIMEOUT,
    STEP_NAME,
    STEP_TYPES,
    VARIABLE_REFERENCE,
    WAIT_DURATION,
    WEBHOOK_TIMEOUT,
    AgentStep,
    Approval,
    ConditionStep,
    Issue,
    Path,
    PlaybookDefinition,
    PlaybookError,
    ScriptStep,
    Step,
    SuccessJson,
    Trigger,
    WaitStep,
    WebhookStep,
    variables_in,
)

_MISSING = object()


class _Fields:
    """One mapping being read: `take` each known key; `done` reports the unknown ones."""

    def __init__(self, document: LocatedDocument, path: Path, data: dict[str, Any]) -> None:
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


def _check(document: LocatedDocument, path: Path, value: Any, rule: Callable[[Any], Any]) -> Any:
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


def _mapping(document: LocatedDocument, path: Path, value: Any) -> _Fields | None:
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
    bare = VARIABLE_REFERENCE.sub("x", text)
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


def _check_variables(document: LocatedDocument, data: dict[str, Any]) -> None:
    for path, text in _walk_strings(data, ()):
        try:
            for _ in variables_in(text):
                pass
        except ValueError as exc:
            document.fail(path, str(exc))


class _Reader:
    """Validation of the whole document, field by field, into the dataclasses. A part
    is built only when reading it recorded no issue; every issue is kept for the report."""

    def __init__(self, document: LocatedDocument) -> None:
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

    def _agent(self, fields: _Fields) -> tuple[dict[str, Any], type[Step]]:
        return {
            "host": self.read(fields, "host", _host, required=True, what=" for an agent step"),
            "script": self.read(
                fields,
                "script",
                _pattern(SCRIPT_NAME, "is not a script name (letters, digits, _ . -)"),
                required=True,
                what=" for an agent step",
            ),
            "args": self.read(fields, "args", _args),
            "timeout_seconds": self.read(fields, "timeout", _duration(*AGENT_TIMEOUT)),
        }, AgentStep

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


def _host(value: Any) -> str:
    try:
        return clean_host(_text(255)(value))
    except ValueError as exc:
        raise _Invalid(str(exc)) from None


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
    data, document = compose_playbook(text)
    _check_variables(document, data)
    definition = _Reader(document).playbook(data)
    if document.issues or definition is None:
        raise PlaybookError(document.issues or [Issue(1, "", "invalid playbook")])
    return definition
