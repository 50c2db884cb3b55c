"""A request header read straight from the ASGI scope's raw list.

ASGI servers lower-case header names, so one pass comparing bytes finds it, as
`request.headers.get` does, without building Starlette's Headers and raising KeyError
for an absent one: on every heartbeat that cost more than the rest of reading the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def raw_header(scope: Mapping[str, Any], name: bytes) -> bytes | None:
    """The first value of the header `name` (lower-case), as sent."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


def header(scope: Mapping[str, Any], name: bytes) -> str | None:
    """The header as text (latin-1, as Starlette decodes it)."""
    value = raw_header(scope, name)
    return None if value is None else value.decode("latin-1")
