"""Run one `webhook` step: substitute, send through the SSRF guard, judge the answer.

The URL, headers and body are substituted (values inserted into the URL are
percent-encoded); a dict or list body goes as JSON, a string body as text. The
request goes through `guarded_request` (allow-list `MEDIC_ALLOWED_WEBHOOK_HOSTS`,
TLS trust from `MEDIC_EXTRA_CA_BUNDLE`, no redirects followed) with the step's
timeout as both the per-operation and the overall limit. Success: the status is in
`success_status` and, when `success_json` is set, the response's JSON value at its
dotted path equals the expected value. Remote failures never raise; they come back
as `ok=False` with a one-line summary that carries no secret and no query string.
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
    redact,
    redact_truncated,
    substitute,
    url_encode,
)

OUTPUT_BYTES = 4096
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
        url = substitute(step.url, context, encode=url_encode)
        headers = substitute(step.headers, context)
        body = substitute(step.body, context)
    except SubstitutionError as exc:
        return StepResult(False, f"{step.method} {shown_url}: {exc}")
    shown_url = _shown_url(url, secrets)
    label = f"{step.method} {shown_url}"

    request_headers: dict[str, str] = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    request_headers.update(headers)
    kwargs: dict[str, Any] = {}
    if isinstance(body, str):
        kwargs["content"] = body.encode("utf-8")
        if not any(name.lower() == "content-type" for name in request_headers):
            request_headers["Content-Type"] = "text/plain; charset=utf-8"
    elif body is not None:
        kwargs["content"] = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if not any(name.lower() == "content-type" for name in request_headers):
            request_headers["Content-Type"] = "application/json"

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
    truncated = not complete or len(body) > OUTPUT_BYTES
    text = body[:OUTPUT_BYTES].decode("utf-8", errors="replace")
    output = redact_truncated(text, secrets) if truncated else redact(text, secrets)
    summary = f"{label} → {status}"
    if not step.accepts(status):
        return StepResult(False, summary, status, output)
    if step.success_json is not None:
        problem = _json_problem(body, complete, step.success_json.path, step.success_json.equals)
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


def _json_problem(body: bytes, complete: bool, path: str, expected: Any) -> str | None:
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
        return f"JSON {path} is {_short(value)}, expected {_short(expected)}"
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


def _short(value: Any, size: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= size else text[: size - 1] + "…"


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
    text = redact(" ".join(text.split()), secrets)
    return text if len(text) <= 500 else text[:499] + "…"
