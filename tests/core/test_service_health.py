"""The word a person sees for a service, and its badge's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from medic.core.service_health import badge_word, health, worst

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "active", "due_in", "grace", "expected"),
    [
        ("up", True, timedelta(minutes=5), 0, "up"),
        ("new", True, timedelta(minutes=5), 0, "new"),
        ("up", True, timedelta(0), 0, "late"),
        ("up", True, timedelta(minutes=5), 600, "late"),  # within the grace period
        ("new", True, timedelta(minutes=-1), 0, "late"),
        ("down", True, timedelta(minutes=-5), 0, "down"),
        ("down", False, timedelta(minutes=-5), 0, "paused"),
        ("up", True, None, 0, "up"),
    ],
)
def test_health(
    state: str, active: bool, due_in: timedelta | None, grace: int, expected: str
) -> None:
    due = None if due_in is None else NOW + due_in
    word = health(state=state, active=active, next_due_at=due, grace_period_seconds=grace, now=NOW)
    assert word == expected


def test_badges_say_up_late_or_down_and_a_team_says_its_worst() -> None:
    assert [badge_word(w) for w in ("new", "up", "late", "down", "paused")] == [
        "up",
        "up",
        "late",
        "down",
        "up",
    ]
    assert worst(["up", "late", "up"]) == "late"
    assert worst(["late", "down"]) == "down"
    assert worst([]) == "up"
