"""Run one `webhook` step: substitute, send through the SSRF guard, judge the answer.

The URL, headers and body are substituted; variables fill values, never structure.
Values inserted into the URL are percent-encoded for their place (`substitute_url`: a
path segment's value completely, and a variable cannot make a dot segment). A dict or
list body, or a string body that is a JSON object or array, is JSON built as data:
each variable fills a string inside it, and it is serialised afterwards, so a value
with quotes stays one string. A string body that looks like JSON but does not parse is
refused; a form body (`application/x-www-form-urlencoded`) gets its values
form-encoded; any other string body goes as text. A header value a variable would
break over lines is refused. The
request goes through `guarded_request` (allow-list `MEDIC_ALLOWED_WEBHOOK_HOSTS`,
TLS trust from `MEDIC_EXTRA_CA_BUNDLE`, no redirects followed) with the step's
timeout as both the per-operation and the overall limit. The request carries an
`Idempotency-Key` header, the same on every attempt of this step of this execution
(a step runs at least once: the one in flight when a worker died runs again), unless
the step sets that header itself. Success: the status is in
`success_status` and, when `success_json` is set, the response's JSON value at its
dotted path equals the expected value. Remote failures never raise; they come back
as `ok=False` with a one-line summary that carries no secret and no query string:
every text is redacted before it is cut (`seal`).
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Mapping
from typing import Any

import httpx

from medic.config import Settings
from medic.core.playbook_definition import WebhookStep
from medic.net.ssrf import BlockedDestination, guarded_request
from medic.net.tls import client_ssl_context
from medic.notify.http import USER_AGENT
from medic.playbooks.context import StepContext, StepResult
from medic.playbooks.substitute import (
    SubstitutionError,
    form_encode,
    redact,
    redact_truncated,
    seal,
    substitute,
    substitute_text,
    substitute_url,
)

OUTPUT_BYTES = 4096
# Sent with the step's key (medic.core.step_keys) unless the step sets this header.
IDEMPOTENCY_HEADER = "Idempotency-Key"
# The most of a response read to judge `success_json`; a larger body fails that check.
JSON_BYTES = 1024 * 1024
_MISSING = object()


def run_webhook_step(
    step: WebhookStep,
    context: StepContext,
    settings: Settings,
    client: httpx.Client | None = None,
) -> StepResult:
    """Send the step's request once and report what came back. `client` is for tests
    and callers that own one; by default a fresh client is opened and closed."""
    secrets = context.secrets
    shown_url = _shown_url(step.url, secrets)
    try:
        url = substitute_url(step.url, context)
        headers = _headers(step.headers, context)
        content, content_type = _body(step.body, headers, context)
    except SubstitutionError as exc:
        return StepResult(False, _line(f"{step.method} {shown_url}: {exc}", secrets))
    shown_url = _shown_url(url, secrets)
    label = f"{step.method} {shown_url}"

    request_headers: dict[str, str] = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if context.idempotency_key and not any(
        n.lower() == IDEMPOTENCY_HEADER.lower() for n in headers
    ):
        request_headers[IDEMPOTENCY_HEADER] = context.idempotency_key
    request_headers.update(headers)
    kwargs: dict[str, Any] = {}
    if content is not None:
        kwargs["content"] = content
        if content_type and not any(name.lower() == "content-type" for name in request_headers):
            request_headers["Content-Type"] = content_type

    timeout = float(step.timeout_seconds)
    allowed = settings.medic_allowed_webhook_hosts
    try:
        if client is not None:
            return _send(step, client, url, allowed, request_headers, kwargs, label, secrets)
        try:
            verify = client_ssl_context(settings.medic_extra_ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            return StepResult(False, f"{label}: cannot load MEDIC_EXTRA_CA_BUNDLE: {exc}")
        # A client per request: pinned connections must not be shared between names.
        with httpx.Client(verify=verify, timeout=timeout, trust_env=False) as own:
            return _send(step, own, url, allowed, request_headers, kwargs, label, secrets)
    except BlockedDestination as exc:
        return StepResult(False, _line(f"{label}: refused: {exc}", secrets))
    except (httpx.TimeoutException, _Overtime):
        return StepResult(False, f"{label}: timed out after {step.timeout_seconds}s")
    except httpx.ConnectError as exc:
        return StepResult(False, _line(f"{label}: connection failed: {exc}", secrets))
    except httpx.HTTPError as exc:
        return StepResult(
            False, _line(f"{label}: request failed: {type(exc).__name__}: {exc}", secrets)
        )


def _headers(template: Mapping[str, str], context: StepContext) -> dict[str, str]:
    headers: dict[str, str] = substitute(dict(template), context)
    for name, value in headers.items():
        if any(ch in value for ch in "\r\n\0"):
            raise SubstitutionError(
                f"header {name}: a variable's value has a line break; it would add headers"
            )
    return headers


_JSON_MEDIA = ("application/json",)
_NOT_JSON = object()


def _body(
    template: Any, headers: Mapping[str, str], context: StepContext
) -> tuple[bytes | None, str | None]:
    """The request body and the Content-Type it goes with unless a header says one.
    Variables fill values: JSON is parsed first, substituted inside its strings and
    serialised afterwards, so a service named `x","admin":true,"y":"` stays one string."""
    if template is None:
        return None, None
    if not isinstance(template, str):
        return _json_bytes(substitute(template, context)), "application/json"
    media = next((value for name, value in headers.items() if name.lower() == "content-type"), "")
    media = media.split(";", 1)[0].strip().lower()
    json_media = media in _JSON_MEDIA or media.endswith("+json")
    try:
        data: Any = json.loads(template)
    except ValueError:
        data = _NOT_JSON
    if data is not _NOT_JSON and (json_media or isinstance(data, dict | list)):
        return _json_bytes(substitute(data, context)), "application/json"
    if json_media or template.lstrip().startswith(("{", "[")):
        raise SubstitutionError(
            "the body looks like JSON but is not valid JSON, so a variable cannot be placed"
            " in it as data; write the body as YAML data (body: {service: ${SERVICE_NAME}})"
            ' or as valid JSON with each variable inside a string ("${SERVICE_NAME}")'
        )
    if media == "application/x-www-form-urlencoded":
        return substitute_text(template, context, encode=form_encode).encode("utf-8"), None
    text = substitute_text(template, context)
    return text.encode("utf-8"), "text/plain; charset=utf-8"


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


class _Overtime(Exception):
    """The response kept trickling in past the step's timeout."""


def _send(
    step: WebhookStep,
    client: httpx.Client,
    url: str,
    allowed_hosts: list[str],
    headers: dict[str, str],
    kwargs: dict[str, Any],
    label: str,
    secrets: Mapping[str, str],
) -> StepResult:
    timeout = float(step.timeout_seconds)
    deadline = time.monotonic() + timeout
    response = guarded_request(
        client,
        step.method,
        url,
        allowed_hosts,
        headers=headers,
        timeout=timeout,
        stream=True,
        **kwargs,
    )
    try:
        limit = JSON_BYTES if step.success_json is not None else OUTPUT_BYTES
        body, complete = _read(response, limit, deadline)
    finally:
        response.close()
    status = response.status_code
    # Masked first, then cut: a secret across the cut is masked whole.
    output = redact(body.decode("utf-8", errors="replace"), secrets)
    if not complete or len(body) > OUTPUT_BYTES:
        kept = output.encode("utf-8")[:OUTPUT_BYTES].decode("utf-8", errors="ignore")
        output = redact_truncated(kept, secrets)
    summary = f"{label} → {status}"
    if not step.accepts(status):
        return StepResult(False, summary, status, output)
    if step.success_json is not None:
        problem = _json_problem(
            body, complete, step.success_json.path, step.success_json.equals, secrets
        )
        if problem is not None:
            return StepResult(False, _line(f"{summary}; {problem}", secrets), status, output)
    return StepResult(True, summary, status, output)


def _read(response: httpx.Response, limit: int, deadline: float) -> tuple[bytes, bool]:
    """Up to `limit` bytes of the body, and whether that was all of it."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], False
        if time.monotonic() > deadline:
            raise _Overtime
    return b"".join(chunks), True


def _json_problem(
    body: bytes, complete: bool, path: str, expected: Any, secrets: Mapping[str, str]
) -> str | None:
    """Why the response fails `success_json`, or None when it passes."""
    if not complete:
        return f"the response is larger than {JSON_BYTES} bytes, too large to check JSON"
    try:
        document = json.loads(body)
    except ValueError:
        return "the response is not JSON"
    value: Any = document
    for key in path.split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return f"JSON has no {path}"
    if not _same(value, expected):
        return f"JSON {path} is {_short(value, secrets)}, expected {_short(expected, secrets)}"
    return None


def _same(actual: Any, expected: Any) -> bool:
    """JSON equality: true is not 1, "1" is not 1; 1 equals 1.0."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual == expected
    if type(actual) is not type(expected):
        return False
    if isinstance(actual, list):
        return len(actual) == len(expected) and all(map(_same, actual, expected))
    if isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(
            _same(actual[key], expected[key]) for key in actual
        )
    return bool(actual == expected)


def _short(value: Any, secrets: Mapping[str, str], size: int = 80) -> str:
    """A JSON value for a summary: secrets masked before it is cut to `size`."""
    return seal(json.dumps(value, ensure_ascii=False, default=str), secrets, size)


def _shown_url(url: str, secrets: Mapping[str, str]) -> str:
    """The URL for a summary: no query string, fragment or user info; secrets masked."""
    try:
        parsed = httpx.URL(url)
        shown = str(parsed.copy_with(query=None, fragment=None, username=None, password=None))
    except (httpx.InvalidURL, TypeError, ValueError):
        shown = url.split("?", 1)[0].split("#", 1)[0]
    return redact(shown, secrets)


def _line(text: str, secrets: Mapping[str, str]) -> str:
    """One line, secrets masked, of a sensible length."""
    return seal(" ".join(text.split()), secrets, 500)
