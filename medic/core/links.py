"""Links: those Medic renders from text users set (a service's runbook), and those it
builds to its own pages (`execution_page`, `service_page`, `approval_page`).

A link a person follows from an alert must be what it looks like: an http(s) URL and
nothing else. `web_url` is the one test, applied when the value is written (commands
refuse anything else) and again when it is rendered (rows stored before that rule are
shown inert, never as a link).
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote, urlsplit

SCHEMES = ("http", "https")
# Never unencoded in a URL (RFC 3986), and each means something to a chat's markup:
# `<` `>` `|` delimit Slack links, `` ` `` `\` `"` `^` `{` `}` quote or escape.
FORBIDDEN = frozenset('<>|"`\\^{}')
MAX_LENGTH = 2048


def web_url(value: str) -> bool:
    """Whether `value` is an absolute http(s) URL with a host, with no whitespace,
    control characters or markup delimiters (non-ASCII letters, as in an IRI, are fine)."""
    if not value or len(value) > MAX_LENGTH:
        return False
    for character in value:
        if character in FORBIDDEN or character.isspace():
            return False
        if unicodedata.category(character) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return False
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in SCHEMES and bool(parts.netloc) and bool(hostname)


def require_web_url(value: str | None) -> str | None:
    """For a validator: the URL as given, None for none (`""` clears it), else ValueError."""
    if value is None or value == "":
        return None
    if not web_url(value):
        raise ValueError(
            "must be an http:// or https:// URL (no spaces, `<`, `>` or `|`), "
            "e.g. https://wiki.example.com/runbooks/backup"
        )
    return value


def execution_page(base_url: str, execution_id: int) -> str:
    """The dashboard page of one execution (its steps, and Approve / Decline while it
    waits): what every notice about an execution links to, a page a person can open
    (never an API route: a browser has no key for those), signing in first if need be.
    The token approval page (`approval_page`) keeps answering the links already sent."""
    return f"{base_url.rstrip('/')}/dashboard/executions/{execution_id}"


def service_page(base_url: str, service_name: str) -> str:
    """The dashboard page of one service, by its heartbeat name (the dashboard redirects
    to the page by id)."""
    return f"{base_url.rstrip('/')}/dashboard/services/named/{quote(service_name, safe='')}"


def approval_page(base_url: str, approval_token: str) -> str:
    """The approval page an execution's request links to (the token is the capability)."""
    return f"{base_url.rstrip('/')}/approvals/{approval_token}"
