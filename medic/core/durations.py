"""Human durations such as `90s`, `30m`, `1h30m`, `2d` (mutes, maintenance, key expiry)."""

import re
from datetime import timedelta

_PART = re.compile(r"([0-9]+)\s*([smhdw])", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_DURATION = timedelta(days=366)


def parse_duration(text: str) -> timedelta:
    """Parse `1h30m`; a bare number means minutes. Refuse zero, negatives and > 1 year."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned.isascii() and cleaned.isdigit():
        if len(cleaned) > 9:
            raise ValueError("duration must be at most 366 days")
        total = timedelta(minutes=int(cleaned))
    else:
        parts = _PART.findall(cleaned)
        if not parts or "".join(n + u for n, u in parts) != cleaned:
            raise ValueError(f"invalid duration {text!r}; use forms like 30m, 1h, 1h30m, 2d")
        try:
            total = sum((timedelta(**{_UNITS[u.lower()]: int(n)}) for n, u in parts), timedelta())
        except OverflowError:
            raise ValueError("duration must be at most 366 days") from None
    if total <= timedelta(0):
        raise ValueError("duration must be positive")
    if total > MAX_DURATION:
        raise ValueError("duration must be at most 366 days")
    return total


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"
