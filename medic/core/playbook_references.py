"""What a playbook's steps rely on outside its text: the secrets they reference
(`${secrets.NAME}`) and the scripts they run, each with the line it is written on, so
an apply can say which of them this Medic does not have (medic.ops.playbooks).

Pure: the caller says which secrets and scripts exist; the run checks again anyway
(a secret can be deleted, a script removed, after the apply)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from medic.core.located_yaml import LocatedDocument, compose_playbook, dotted
from medic.core.playbook_definition import Path, variables_in

SECRET_PREFIX = "secrets."


@dataclass(frozen=True)
class Reference:
    kind: Literal["secret", "script"]
    name: str
    line: int
    path: str

    def missing(self, why: str) -> str:
        """One warning: `line 12: steps[0].headers.Authorization: secret X is not set`."""
        return f"line {self.line}: {self.path}: {self.kind} {self.name!r} {why}"


def references(text: str) -> list[Reference]:
    """Every secret and script the steps of a valid playbook (`text`) use, in order.
    Only the steps: a variable anywhere else is never substituted."""
    data, document = compose_playbook(text)
    steps = data.get("steps") if isinstance(data, dict) else None
    found: list[Reference] = []
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            continue
        base: Path = ("steps", index)
        script = step.get("script")
        if step.get("type") == "script" and isinstance(script, str):
            found.append(_at(document, "script", script, (*base, "script")))
        for path, value in _strings(step, base):
            for name in _variables(value):
                if name.startswith(SECRET_PREFIX):
                    found.append(_at(document, "secret", name.removeprefix(SECRET_PREFIX), path))
    return found


def unresolved(
    found: list[Reference],
    secret_exists: Callable[[str], bool],
    script_exists: Callable[[str], bool],
    secrets_off: bool = False,
) -> list[str]:
    """A warning for each reference this Medic cannot satisfy now."""
    warnings: list[str] = []
    for reference in found:
        if reference.kind == "script" and not script_exists(reference.name):
            warnings.append(reference.missing("is not registered (MEDIC_SCRIPTS_DIR)"))
        elif reference.kind == "secret" and secrets_off:
            warnings.append(
                reference.missing("cannot be read: secrets are off (MEDIC_SECRETS_KEY)")
            )
        elif reference.kind == "secret" and not secret_exists(reference.name):
            warnings.append(reference.missing("is not set (medic secret set NAME)"))
    return warnings


def _at(document: LocatedDocument, kind: Any, name: str, path: Path) -> Reference:
    return Reference(kind, name, document.line(path), dotted(path))


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))


def _variables(text: str) -> list[str]:
    try:
        return list(variables_in(text))
    except ValueError:  # parsing reported it already; nothing to resolve
        return []
