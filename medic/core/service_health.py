"""How a service looks to a person at a glance: one word, computed from its stored state
and its deadline, the same on every page and badge.

The stored state is `new | up | down` (medic.core.detection). A person also wants to
know that a service is *late*: its schedule's deadline passed and no heartbeat came,
but detection has not called it down yet (it is within its grace period, or the
scheduler has yet to look). Badges keep the three words healthchecks-style badges
use (up, late, down): a new or paused service is not a problem, so it shows `up`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

Health = Literal["new", "up", "late", "down", "paused"]
BadgeWord = Literal["up", "late", "down"]
HEALTHS: tuple[Health, ...] = ("new", "up", "late", "down", "paused")
# Worst first: a team's badge shows its worst service.
BADGE_SEVERITY: tuple[BadgeWord, ...] = ("down", "late", "up")


def health(
    *,
    state: str,
    active: bool,
    next_due_at: datetime | None,
    grace_period_seconds: int,
    now: datetime,
) -> Health:
    """The first that holds: paused (inactive), down, late (the deadline without its
    grace passed), new, up."""
    if not active:
        return "paused"
    if state == "down":
        return "down"
    if next_due_at is not None and now >= next_due_at - timedelta(seconds=grace_period_seconds):
        return "late"
    return "new" if state == "new" else "up"


def badge_word(value: Health) -> BadgeWord:
    return value if value in ("late", "down") else "up"  # type: ignore[return-value]


def worst(words: Iterable[BadgeWord]) -> BadgeWord:
    """A team's word: its worst service's; a team with no service is `up`."""
    seen = set(words)
    return next((word for word in BADGE_SEVERITY if word in seen), "up")
