"""What the sync and async clients share: where Medic is, the key, the headers, and how
an answer (or no answer) becomes a Report, a warning or, when asked, a MedicError."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import httpx

from medic import __version__
from medic.client.calls import Call
from medic.client.report import MedicError, Report
from medic.client.retry import Retry, retry_after_seconds, retryable

log = logging.getLogger("medic.client")
DEFAULT_URL = "http://localhost:8080"
# A bad URL is not fixed by trying again.
FATAL_ERRORS: tuple[type[Exception], ...] = (httpx.InvalidURL, httpx.UnsupportedProtocol)


class ClientBase:
    """`url` and `key` default to MEDIC_URL and MEDIC_API_KEY, as the `medic` CLI's. A
    report Medic did not store is returned and handed to `on_error` (default: a warning
    on the `medic.client` logger); with `raise_errors=True` it raises MedicError."""

    def __init__(
        self,
        url: str | None = None,
        key: str | None = None,
        *,
        timeout: float = 10.0,
        retry: Retry | None = None,
        raise_errors: bool = False,
        on_error: Callable[[Report], None] | None = None,
        user_agent: str = "medic-client",
    ) -> None:
        self.url = (url or os.environ.get("MEDIC_URL") or DEFAULT_URL).rstrip("/")
        self.key = key if key is not None else os.environ.get("MEDIC_API_KEY") or None
        self.timeout = timeout
        self.retry = retry if retry is not None else Retry()
        self.raise_errors = raise_errors
        self.on_error = on_error or _log_warning
        self.headers = {"User-Agent": f"{user_agent}/{__version__}"}

    def _request(self, call: Call) -> dict[str, Any]:
        """The arguments of httpx's `request` for `call` (the timeout comes per attempt)."""
        url = call.url if call.url.startswith(("http://", "https://")) else self.url + call.url
        headers = dict(self.headers)
        if call.needs_key and self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        if call.content is not None:
            headers["Content-Type"] = "text/plain; charset=utf-8"
        return {
            "method": call.method,
            "url": url,
            "headers": headers,
            "json": call.json,
            "content": call.content,
            "params": call.params or None,
        }

    @staticmethod
    def _final(report: Report) -> bool:
        """Stored, or refused in a way another attempt would not change."""
        return report.ok or (report.status_code is not None and not retryable(report.status_code))

    def _answered(
        self, call: Call, response: httpx.Response, attempts: int
    ) -> tuple[Report, float | None]:
        """The report for an answer, and the `Retry-After` it asked for (seconds)."""
        try:
            body = response.json()
        except ValueError:
            body = None
        results = body.get("results") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, str) or not message:
            message = response.text.strip()[:500] or response.reason_phrase
        report = Report(
            ok=response.is_success,
            status_code=response.status_code,
            message=message,
            what=call.what,
            results=results,
            attempts=attempts,
            run_id=_run_id(call),
        )
        wait = None
        if retryable(response.status_code):
            wait = retry_after_seconds(response.headers.get("retry-after"))
        return report, wait

    def _unreached(self, call: Call, error: Exception, attempts: int) -> Report:
        detail = str(error) or type(error).__name__
        return Report(
            ok=False,
            status_code=None,
            message=f"cannot reach Medic at {self.url}: {detail}"
            if call.needs_key
            else f"cannot reach Medic: {detail}",
            what=call.what,
            attempts=attempts,
            run_id=_run_id(call),
        )

    def _settle(self, report: Report) -> Report:
        if not report.ok:
            if self.raise_errors:
                raise MedicError(report)
            self.on_error(report)
        return report


def _log_warning(report: Report) -> None:
    log.warning("Medic did not record the %s", report.describe())


def _run_id(call: Call) -> str | None:
    if call.json is not None:
        return call.json.get("run_id")
    return call.params.get("rid")
