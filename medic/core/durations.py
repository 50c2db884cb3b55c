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


_SPOKEN_UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


def spoken_duration(delta: timedelta) -> str:
    """`2 s`, `20 min`, `1 h 12 min`, `3 d 4 h`: how reasons and recovery notices say a
    span, to the largest unit and the one below it (when not zero)."""
    seconds = int(delta.total_seconds())
    if seconds < 1:
        return "under 1 s"
    for index, (unit, size) in enumerate(_SPOKEN_UNITS):
        if seconds >= size:
            text = f"{seconds // size} {unit}"
            if index + 1 < len(_SPOKEN_UNITS):
                smaller, smaller_size = _SPOKEN_UNITS[index + 1]
                rest = seconds % size // smaller_size
                if rest:
                    text += f" {rest} {smaller}"
            return text
    raise AssertionError("unreachable: seconds >= 1")
