"""`${...}` substitution for playbook step fields, and redaction of secret values.

One left-to-right pass over the template text: each `${NAME}` is replaced by its
value and the scan continues after the reference, so an inserted value is never
expanded again (a service named `${secrets.TOKEN}` stays exactly that). Caller
values are data, never template text. `$$` is a literal `$`.

`substitute` walks str, list, tuple and dict; dict keys are substituted too (the
definition's validation checks keys and values alike). Other values (numbers,
booleans, None) pass through unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from medic.core.playbook_definition import SECRET_NAME, VARIABLES
from medic.playbooks.context import StepContext

MASK = "••••"
MIN_REDACTED_LENGTH = 4

_REFERENCE = re.compile(r"\$(\$|\{([^}]*)\}|\{)")


class SubstitutionError(ValueError):
    """A reference that cannot be filled: an unknown variable, a secret that was not
    revealed, an unterminated `${`. The message names the reference, never a value."""


def substitute(
    value: Any, context: StepContext, *, encode: Callable[[str], str] | None = None
) -> Any:
    """`value` with every reference replaced; `encode` (like `url_encode`) is applied to
    each inserted value, never to the template text around it."""
    if isinstance(value, str):
        return substitute_text(value, context, encode=encode)
    if isinstance(value, list | tuple):
        items = [substitute(item, context, encode=encode) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        result: dict[Any, Any] = {}
        for key, item in value.items():
            new_key = substitute(key, context, encode=encode)
            if new_key in result:
                raise SubstitutionError(f"two keys become {new_key!r} after substitution")
            result[new_key] = substitute(item, context, encode=encode)
        return result
    return value


def substitute_text(
    text: str, context: StepContext, *, encode: Callable[[str], str] | None = None
) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(1)
        if token == "$":
            return "$"
        if token == "{":
            raise SubstitutionError("unterminated ${ (write $$ for a literal $)")
        inserted = _lookup(match.group(2), context)
        return encode(inserted) if encode is not None else inserted

    return _REFERENCE.sub(replace, text)


def url_encode(value: str) -> str:
    """Percent-encode an inserted value so it stays one piece of the URL (a name with
    `/`, `?`, `#` or `@` cannot change the host, path or query)."""
    return quote(value, safe="-._~")


def _lookup(name: str, context: StepContext) -> str:
    if name in VARIABLES:
        value = {
            "SERVICE_NAME": context.service_name,
            "HEARTBEAT_NAME": context.heartbeat_name,
            "ALERT_ID": context.alert_id,
            "EXECUTION_ID": context.execution_id,
        }[name]
        return "" if value is None else str(value)
    if name.startswith("secrets."):
        secret = name.removeprefix("secrets.")
        if not SECRET_NAME.fullmatch(secret):
            raise SubstitutionError(f"${{{name}}}: not a valid secret name")
        if secret not in context.secrets:
            raise SubstitutionError(f"${{{name}}}: the secret {secret} was not provided")
        return context.secrets[secret]
    raise SubstitutionError(
        f"unknown variable ${{{name}}}; use {', '.join('${' + v + '}' for v in VARIABLES)}"
        " or ${secrets.NAME}"
    )


def _forms(secret: str) -> set[str]:
    """The secret as it may appear in text: as is, JSON-escaped, percent-encoded."""
    forms = {secret, json.dumps(secret, ensure_ascii=False)[1:-1], json.dumps(secret)[1:-1]}
    forms |= {quote(secret, safe=""), quote(secret, safe="-._~"), quote(secret)}
    return {form for form in forms if len(form) >= MIN_REDACTED_LENGTH}


def redact(text: str, secrets: Mapping[str, str] | Iterable[str]) -> str:
    """`text` with every secret value (of at least 4 characters) replaced by ••••,
    longest first so one secret inside another is masked whole."""
    values = secrets.values() if isinstance(secrets, Mapping) else secrets
    forms: set[str] = set()
    for value in values:
        if len(value) >= MIN_REDACTED_LENGTH:
            forms |= _forms(value)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text


def redact_truncated(text: str, secrets: Mapping[str, str]) -> str:
    """Like `redact`, for text that was cut short: a secret's beginning left at the very
    end (its rest was cut off) is masked too."""
    text = redact(text, secrets)
    for value in secrets.values():
        if len(value) < MIN_REDACTED_LENGTH:
            continue
        for form in _forms(value):
            for size in range(min(len(form) - 1, len(text)), MIN_REDACTED_LENGTH - 1, -1):
                if text.endswith(form[:size]):
                    text = text[:-size] + MASK
                    break
    return text
