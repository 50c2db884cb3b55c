"""Field types commands share, so a duration or a reason means the same at every door."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, Field

from medic.core.durations import parse_duration


def _duration(value: object) -> object:
    """`"2h"`, `"1h30m"`, a bare number of minutes; capped by parse_duration."""
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str):
        raise ValueError("must be a duration such as 30m, 1h, 1h30m or 2d")
    return parse_duration(value)


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    Field(description="e.g. 30m, 1h, 1h30m, 2d (at most 366 days)"),
]


def _text(value: object) -> object:
    """PostgreSQL cannot store NUL in text; refuse it on every backend."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Reason = Annotated[
    str, BeforeValidator(_text), Field(min_length=1, max_length=1000, description="why")
]

# Row ids are 32-bit integers in the database; a larger number names no row.
MAX_ID = 2**31 - 1

# A service by id or by heartbeat name (matched case-insensitively).
ServiceRef = Annotated[int | str, Field(description="a service id or heartbeat name")]
