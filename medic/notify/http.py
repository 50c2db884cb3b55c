"""One HTTP delivery attempt through the SSRF guard, and what its answer means.

Webhooks and Discord share this, so every HTTP channel maps answers to outcomes the
same way: 2xx sent; 408, 429, 5xx, timeouts and connection errors worth a retry;
any other 4xx, a redirect or a refused destination final.
"""

from __future__ import annotations

import ssl

import httpx

from medic import __version__
from medic.config import Settings
from medic.net.ssrf import BlockedDestination, guarded_request
from medic.net.tls import client_ssl_context
from medic.notify.message import Outcome

USER_AGENT = f"Medic/{__version__}"
RETRYABLE_STATUSES = frozenset({408, 425, 429})
# Enough of an error body to show why a receiver said no, without storing a page.
EXCERPT_BYTES = 300


def post(
    settings: Settings,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    method: str = "POST",
) -> Outcome:
    """Make exactly one request to `url` (a user-chosen URL, so it goes through the
    guard) and turn whatever happens into an Outcome; never raises for delivery."""
    timeout = settings.medic_notify_timeout_seconds
    try:
        verify = client_ssl_context(settings.medic_extra_ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        return Outcome.refused(f"cannot load MEDIC_EXTRA_CA_BUNDLE: {exc}")
    try:
        # A client per delivery: pinned connections must not be shared between names.
        with httpx.Client(verify=verify, timeout=timeout, trust_env=False) as client:
            response = guarded_request(
                client,
                method,
                url,
                settings.medic_allowed_webhook_hosts,
                content=content,
                # Error bodies are read raw and cut short: no decompression on our side.
                headers={"Accept-Encoding": "identity", **headers},
                stream=True,
            )
            try:
                excerpt = "" if response.is_success else _excerpt(response)
            finally:
                response.close()
    except BlockedDestination as exc:
        return Outcome.refused(f"refused: {exc}")
    except httpx.TimeoutException:
        return Outcome.failed(f"timed out after {timeout:g} s")
    except httpx.TransportError as exc:
        return Outcome.failed(f"connection failed: {str(exc) or type(exc).__name__}")
    except httpx.HTTPError as exc:  # e.g. an invalid URL; the same call would fail again
        return Outcome.refused(f"cannot send: {exc}")
    return outcome_for_status(response.status_code, response.headers.get("location"), excerpt)


def outcome_for_status(status: int, location: str | None = None, excerpt: str = "") -> Outcome:
    """What an HTTP answer means for a notification (see the module docstring)."""
    detail = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
    if 200 <= status < 300:
        return Outcome.sent(status)
    if 300 <= status < 400:
        where = f" to {location}" if location else " without a Location"
        return Outcome.refused(f"HTTP {status}: redirect{where} not followed", status)
    if status in RETRYABLE_STATUSES or status >= 500:
        return Outcome.failed(detail, status)
    if 400 <= status < 500:
        return Outcome.refused(detail, status)
    return Outcome.failed(detail, status)  # 1xx as a final answer: a confused server


def _excerpt(response: httpx.Response) -> str:
    """The start of an error body on one line; empty if it cannot be read."""
    chunk = b""
    try:
        for part in response.iter_raw():
            chunk += part
            if len(chunk) >= EXCERPT_BYTES:
                break
    except httpx.HTTPError:
        pass
    text = chunk[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    return " ".join(text.split())
