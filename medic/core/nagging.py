"""Nagging: an open alert nobody acknowledged is sent again every `repeat_every`
(a routing rule's, else its target's) until it is acknowledged, muted or resolved.

Pure rules, so time is a parameter: when a reminder is due, and when the next one is.
A scheduler that was stopped for hours sends one reminder when it comes back, not one
per missed interval.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from medic.core.durations import format_duration, parse_duration

MIN_REPEAT = timedelta(minutes=1)


def parse_repeat(text: str) -> timedelta:
    """`30m`, `1h`, …: at least a minute, at most a year (parse_duration's bound)."""
    every = parse_duration(text)
    if every < MIN_REPEAT:
        raise ValueError("repeat_every must be at least 1m")
    return every


def clean_repeat(value: object) -> str | None:
    """A written `repeat_every` as stored: its normalised spelling (`90m` → `1h30m`),
    None when empty or null (no repeats)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("repeat_every must be a duration such as 30m or 1h")
    return format_duration(parse_repeat(value))


def effective_repeat(rule_repeat: str | None, target_repeat: str | None) -> timedelta | None:
    """The rule that chose a target is the more specific: its interval wins; else the
    target's own; else no repeats."""
    chosen = rule_repeat or target_repeat
    return parse_repeat(chosen) if chosen else None


def reminder_due(
    next_at: datetime,
    now: datetime,
    *,
    open_: bool,
    acknowledged: bool,
    silenced: bool,
) -> bool:
    """Whether a reminder goes out now."""
    return open_ and not acknowledged and not silenced and next_at <= now


def next_reminder(now: datetime, every: timedelta) -> datetime:
    """After a reminder sent (or skipped) at `now`: counted from now, never from the
    missed instant, so a late pass cannot cause a burst."""
    return now + every
