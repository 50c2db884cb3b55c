"""The period filter of list pages (executions, audit log): a choice of "the last hour,
day, week…" or explicit bounds, turned into the `since`/`until` instants the list
operations take. Times typed without an offset are UTC, as the pages show them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PERIODS: list[tuple[str, str]] = [
    ("", "Any time"),
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
]
_LENGTHS = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}


def instant(value: str | None) -> datetime | str | None:
    """A typed time as an aware instant (UTC when it names no offset); text that is no
    time is returned as is, for the operation's command to refuse naming its field."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        return value
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def bounds(period: str | None, since: str | None, until: str | None) -> dict[str, datetime | str]:
    """`since`/`until` for a list command: explicit bounds win over the period."""
    found: dict[str, datetime | str] = {}
    start = instant(since)
    if start is None and period in _LENGTHS:
        start = datetime.now(UTC) - _LENGTHS[period]
    if start is not None:
        found["since"] = start
    end = instant(until)
    if end is not None:
        found["until"] = end
    return found
