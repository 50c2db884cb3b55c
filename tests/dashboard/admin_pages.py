"""Helpers for the tests of the alerts, maintenance, teams, routing and keys pages."""

from __future__ import annotations

import re

ERROR = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)


def error_of(html: str) -> str:
    """The error a page shows (as HTML source: escaped)."""
    found = ERROR.search(html)
    assert found, "the page shows no error"
    return found.group(1)
