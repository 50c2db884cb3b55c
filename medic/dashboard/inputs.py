"""Form values that need the dashboard's own reading before a command gets them: a
date or a date and time typed in a browser's picker (no offset) is read in a time zone
the person names, defaulting to MEDIC_TIMEZONE; a list typed one per line or comma."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from medic.config import validate_timezone
from medic.ops.errors import InvalidInput

NO_STORE = {"Cache-Control": "no-store"}


def zone(value: str | None, default: str) -> ZoneInfo:
    """The named IANA time zone (the field `timezone`), else the default."""
    if not value:
        return ZoneInfo(default)
    try:
        return ZoneInfo(validate_timezone(value))
    except ValueError as exc:
        raise InvalidInput(f"timezone: {exc}") from None


def local_instant(value: str | None, field: str, tz: ZoneInfo) -> datetime | None:
    """`2027-03-15T10:00` (a datetime-local input) or one with an offset, in `tz`."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        example = "2027-03-15T10:00"
        raise InvalidInput(f"{field}: {value!r} is not a date and time like {example}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def day_start(
    value: str | None, field: str, tz: ZoneInfo, *, after: bool = False
) -> datetime | None:
    """Midnight of a `YYYY-MM-DD` day in `tz`; `after`: the midnight ending that day."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is not a date like 2027-03-15") from None
    if after:
        if day == date.max:
            raise InvalidInput(f"{field}: {value!r} is too far away")
        day += timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=tz)


def items(value: str | None) -> list[str]:
    """The non-blank entries of a list typed one per line or separated by commas."""
    return [item for item in (part.strip() for part in re.split(r"[,\n]", value or "")) if item]
