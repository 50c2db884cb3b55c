"""The TLS trust every outgoing connection uses: the system's CAs plus an operator's own.

One builder, so webhooks, Discord, SMTP STARTTLS and PagerDuty trust exactly the same
certificates, and a private CA (`MEDIC_EXTRA_CA_BUNDLE`) is added in one place.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from pathlib import Path

import certifi


def client_ssl_context(extra_ca_bundle: Path | str | None = None) -> ssl.SSLContext:
    """A verifying client context: the system's CAs, plus `extra_ca_bundle` (a PEM file).

    Hostname checking stays on. When the system has no CA store at all (slim container
    images), certifi's bundle stands in for it, as httpx's own default would.
    Contexts are cached per bundle path: loading a CA store costs milliseconds, and
    a context is safe to share between threads once built. Callers share it, so they
    must not change it (load more CAs, relax verification).
    """
    return _cached_context(str(extra_ca_bundle) if extra_ca_bundle else None)


@lru_cache(maxsize=8)
def _cached_context(extra_ca_bundle: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    paths = ssl.get_default_verify_paths()
    if paths.cafile is None and paths.capath is None:
        context.load_verify_locations(cafile=certifi.where())
    if extra_ca_bundle:
        context.load_verify_locations(cafile=extra_ca_bundle)
    return context
