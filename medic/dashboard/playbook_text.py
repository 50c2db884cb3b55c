"""A playbook's YAML as the pages show it: each line numbered and marked with the
problems found on it (so an error is seen at its line, without script), and the
difference between two versions as escaped lines (difflib, rendered by the template)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from medic.core.playbook_definition import Issue, PlaybookError
from medic.core.playbook_parsing import parse_playbook

MAX_DIFF_LINES = 2000


@dataclass(frozen=True, slots=True)
class SourceLine:
    number: int
    text: str
    issues: list[Issue] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: str  # "add", "remove", "hunk", "same"
    text: str


def issues_of(source_yaml: str) -> list[Issue]:
    """Every problem the definition has, each with its line (none: it is valid). The
    same rules the apply operation checks (medic.core.playbook_parsing); this only
    keeps their lines apart for the page."""
    try:
        parse_playbook(source_yaml)
    except PlaybookError as exc:
        return list(exc.issues)
    return []


def numbered(source_yaml: str, issues: list[Issue] | None = None) -> list[SourceLine]:
    """The source's lines, numbered from 1, each with its problems; a problem past the
    last line (the end of the document) is put on the last one."""
    texts = source_yaml.splitlines() or [""]
    by_line: dict[int, list[Issue]] = {}
    for issue in issues or []:
        by_line.setdefault(min(max(issue.line, 1), len(texts)), []).append(issue)
    return [SourceLine(n, text, by_line.get(n, [])) for n, text in enumerate(texts, start=1)]


def diff(older: str, newer: str, older_name: str, newer_name: str) -> list[DiffLine]:
    """A unified diff of two versions' YAML, as lines the template escapes."""
    lines = difflib.unified_diff(
        older.splitlines(), newer.splitlines(), older_name, newer_name, lineterm=""
    )
    shown = []
    for index, line in enumerate(lines):
        if index >= MAX_DIFF_LINES:
            shown.append(DiffLine("hunk", f"… more than {MAX_DIFF_LINES} lines, not shown"))
            break
        if line.startswith(("---", "+++", "@@")):
            shown.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            shown.append(DiffLine("add", line))
        elif line.startswith("-"):
            shown.append(DiffLine("remove", line))
        else:
            shown.append(DiffLine("same", line))
    return shown
