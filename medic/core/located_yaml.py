"""YAML to located values: a playbook's text composed into plain values, each path
remembering the line it is written on, so every error can name its line.

The YAML is composed into nodes (`yaml.compose`, safe loader) rather than loaded, so
each value keeps the line it came from, duplicate keys are caught (PyYAML would keep
the last one silently), and aliases are refused outright: with them a small document
can expand into a huge one.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from medic.core.playbook_definition import (
    MAX_DEPTH,
    MAX_SOURCE_BYTES,
    Issue,
    Path,
    PlaybookError,
)


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


class LocatedDocument:
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


def compose_playbook(text: str) -> tuple[Any, LocatedDocument]:
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
    document = LocatedDocument()
    data = document.value(node, (), node.start_mark.line + 1)
    if document.issues:  # YAML the schema cannot even be checked against
        raise PlaybookError(document.issues)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        document.fail((), f"the playbook must be a YAML mapping (name, steps, ...), not {kind}")
        raise PlaybookError(document.issues)
    return data, document
