"""`${...}` substitution for playbook step fields, and redaction of secret values.

One left-to-right pass over the template text: each `${NAME}` is replaced by its
value and the scan continues after the reference, so an inserted value is never
expanded again (a service named `${secrets.TOKEN}` stays exactly that). Caller
values are data, never template text. `$$` is a literal `$`.

`substitute` walks str, list, tuple and dict; dict keys are substituted too (the
definition's validation checks keys and values alike). Other values (numbers,
booleans, None) pass through unchanged.

Variables fill values, never structure: `substitute_url` percent-encodes a value by
where it lands (in a path segment completely, `.` and `/` included, and a segment a
variable leaves empty or makes `.`/`..` is refused); a JSON body is substituted as data
(webhook_step); a script's arguments that start with a variable come after `--`
(scripts).

`redact` masks secret values, ignoring case, in every form a value takes on the way
(as is, JSON-escaped, percent-encoded, form-encoded, a host's IDNA form); `seal` is
redaction and then, only then, a cut to a length: every text a step produces goes
through it before it is stored, sent or logged.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote

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


def path_segment_encode(value: str) -> str:
    """Percent-encode a value inserted into a path segment completely: only letters,
    digits, `-`, `_` and `~` stay, so `.` and `/` become %2E and %2F."""
    return quote(value, safe="-_~").replace(".", "%2E")  # quote() never encodes "."


def form_encode(value: str) -> str:
    """A value inside an `application/x-www-form-urlencoded` body: `&`, `=`, `+` encoded."""
    return quote_plus(value)


_AUTHORITY_END = re.compile(r"[/?#]")
_PATH_END = re.compile(r"[?#]")
_DOT_OR_EMPTY = ("", ".", "..")


def substitute_url(template: str, context: StepContext) -> str:
    """The URL `template` with each value encoded for where it lands: in the path, each
    segment's values are fully percent-encoded (`…/services/${SERVICE_NAME}/restart`
    with a service named `a.b/c` is `…/services/a%2Eb%2Fc/restart`), elsewhere
    `url_encode`. A path segment that a variable leaves empty or makes a dot segment
    (`.` or `..`, however spelled) is refused: a client, proxy or server would collapse
    it (a service named `..` would turn the URL into `…/restart`)."""
    scheme = template.find("://")
    found = _AUTHORITY_END.search(template, scheme + 3 if scheme >= 0 else 0)
    path_start = found.start() if found else len(template)
    found = _PATH_END.search(template, path_start)
    path_end = found.start() if found else len(template)
    segments = []
    for segment in template[path_start:path_end].split("/"):
        filled = substitute_text(segment, context, encode=path_segment_encode)
        if _has_variable(segment) and unquote(filled) in _DOT_OR_EMPTY:
            shown = repr(unquote(filled)) if filled else "empty"
            raise SubstitutionError(
                f"the URL path segment {segment!r} would be {shown}: a variable may not"
                " make a path segment empty, '.' or '..'"
            )
        segments.append(filled)
    return (
        substitute_text(template[:path_start], context, encode=url_encode)
        + "/".join(segments)
        + substitute_text(template[path_end:], context, encode=url_encode)
    )


def _has_variable(text: str) -> bool:
    return any(match.group(1) != "$" for match in _REFERENCE.finditer(text))


def starts_with_variable(template: str) -> bool:
    """Whether a value decides how `template` begins: it starts with a reference, after
    any dashes (`${X}`, `-${X}`, `--${X}`), so a value could make it read as an option."""
    match = _REFERENCE.match(template.lstrip("-"))
    return match is not None and match.group(1) != "$"


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
    """The secret as it may appear in text: as is, JSON-escaped, percent-encoded (path,
    query or form style), and as an internationalised host name (IDNA)."""
    forms = {secret, json.dumps(secret, ensure_ascii=False)[1:-1], json.dumps(secret)[1:-1]}
    forms |= {quote(secret, safe=""), quote(secret, safe="-._~"), quote(secret)}
    forms |= {path_segment_encode(secret), quote_plus(secret), quote_plus(secret, safe="/")}
    with contextlib.suppress(UnicodeError):
        forms.add(secret.encode("idna").decode("ascii"))
    return {form for form in forms if len(form) >= MIN_REDACTED_LENGTH}


def _values(secrets: Mapping[str, str] | Iterable[str]) -> list[str]:
    values = secrets.values() if isinstance(secrets, Mapping) else secrets
    return [value for value in values if len(value) >= MIN_REDACTED_LENGTH]


def _secret_pattern(secrets: Mapping[str, str] | Iterable[str]) -> re.Pattern[str] | None:
    forms: set[str] = set()
    for value in _values(secrets):
        forms |= _forms(value)
    if not forms:
        return None
    # Longest first, so one secret inside another is masked whole.
    alternatives = sorted(forms, key=lambda form: (-len(form), form))
    return re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE)


def redact(text: str, secrets: Mapping[str, str] | Iterable[str]) -> str:
    """`text` with every secret value (of at least 4 characters) replaced by ••••, in
    any of its forms and ignoring case (URL parsing lowercases a host; a receiver may
    echo a value upper-cased)."""
    pattern = _secret_pattern(secrets)
    return text if pattern is None else pattern.sub(MASK, text)


def redact_truncated(text: str, secrets: Mapping[str, str] | Iterable[str]) -> str:
    """Like `redact`, for text that was cut short: a secret's beginning left at the very
    end (its rest was cut off) is masked too."""
    values = _values(secrets)
    text = redact(text, values)
    for value in values:
        for form in _forms(value):
            for size in range(min(len(form) - 1, len(text)), MIN_REDACTED_LENGTH - 1, -1):
                end = re.search(re.escape(form[:size]) + r"\Z", text, re.IGNORECASE)
                if end is not None:
                    text = text[: end.start()] + MASK
                    break
    return text


def seal(text: str, secrets: Mapping[str, str] | Iterable[str], limit: int | None = None) -> str:
    """`text` fit to store, send or log: secrets masked first (`redact`), then cut to
    `limit` characters with `…`. Cutting first could leave most of a secret behind,
    too short to be recognised."""
    values = _values(secrets)
    text = redact(text, values)
    if limit is not None and len(text) > limit:
        text = redact_truncated(text[: limit - 1], values) + "…"
    return text
