"""Field types commands share, so a duration or a reason means the same at every door."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

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
# A list filter's text (a name to match): bounded, and never NUL, which PostgreSQL
# refuses to compare with (a 500 otherwise).
FilterText = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=255)]

# Row ids are 32-bit integers in the database; a larger number names no row.
MAX_ID = 2**31 - 1

# A service by id or by heartbeat name (matched case-insensitively).
ServiceRef = Annotated[int | str, Field(description="a service id or heartbeat name")]


# The instants a client may give, in UTC. Python's datetime ends with the years 1 and 9999;
# a year's margin on each side keeps every conversion to a time zone and every duration
# Medic adds (at most 366 days) inside it, so a far date is refused naming its field
# instead of overflowing later (e.g. 9999-12-31T23:30:00-14:00 is in the year 10000).
EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 1, 1, tzinfo=UTC)


def utc_instant(value: datetime) -> datetime:
    """An aware `value` in UTC; ValueError (pydantic names the field) outside the range."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise ValueError(f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} UTC")
    return utc


def _bound(value: datetime) -> datetime:
    """A search bound: outside the range it matches what the range's end matches."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        return EARLIEST if value.year < 5000 else LATEST
    return min(max(utc, EARLIEST), LATEST)


# A moment Medic keeps or computes from (a maintenance window's start, a routing preview).
Instant = Annotated[AwareDatetime, AfterValidator(utc_instant)]
# A `since`/`until` filter: any aware time; a far one is as good as the range's end.
InstantBound = Annotated[AwareDatetime, AfterValidator(_bound)]
