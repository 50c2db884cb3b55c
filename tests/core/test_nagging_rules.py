"""Nagging as pure rules: whatever the times a scheduler happens to pass at, reminders
are at least `repeat_every` apart, one goes out per pass at most, none after the alert
is acknowledged or while it is silenced, and a scheduler that was stopped sends one
reminder when it is back, not a burst."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medic.core.nagging import (
    clean_repeat,
    effective_repeat,
    next_reminder,
    parse_repeat,
    reminder_due,
)

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
GAPS = st.lists(st.integers(min_value=1, max_value=4 * 3600), min_size=1, max_size=60)
EVERY = st.integers(min_value=60, max_value=3 * 3600)


def _simulate(
    every_seconds: int,
    gaps: list[int],
    silenced_at: set[int] = frozenset(),
    acked_at: int | None = None,
) -> list[datetime]:
    every = timedelta(seconds=every_seconds)
    next_at, now, sent = next_reminder(START, every), START, []
    for index, gap in enumerate(gaps):
        now += timedelta(seconds=gap)
        silenced = index in silenced_at
        acknowledged = acked_at is not None and index >= acked_at
        if next_at <= now and (silenced or acknowledged):
            next_at = next_reminder(now, every)
        elif reminder_due(next_at, now, open_=True, acknowledged=acknowledged, silenced=silenced):
            sent.append(now)
            next_at = next_reminder(now, every)
    return sent


@given(EVERY, GAPS)
def test_reminders_are_at_least_repeat_every_apart(every: int, gaps: list[int]) -> None:
    sent = _simulate(every, gaps)
    first = [START, *sent]
    assert all(b - a >= timedelta(seconds=every) for a, b in zip(first, sent, strict=False))


@given(EVERY, GAPS)
def test_at_most_one_reminder_per_pass_and_none_missed_for_long(
    every: int, gaps: list[int]
) -> None:
    sent = _simulate(every, gaps)
    assert len(sent) <= len(gaps)
    end = START + timedelta(seconds=sum(gaps))
    last = sent[-1] if sent else START
    # Whatever is due is sent at the next pass: never more than one gap late.
    assert end - last < timedelta(seconds=every + max(gaps))


@given(EVERY, GAPS, st.integers(min_value=0, max_value=59))
def test_nothing_after_the_acknowledgement(every: int, gaps: list[int], acked: int) -> None:
    if acked >= len(gaps):
        return
    sent = _simulate(every, gaps, acked_at=acked)
    acked_time = START + timedelta(seconds=sum(gaps[: acked + 1]))
    assert all(moment < acked_time for moment in sent)


@given(EVERY, GAPS, st.sets(st.integers(min_value=0, max_value=59)))
def test_nothing_while_silenced(every: int, gaps: list[int], silenced: set[int]) -> None:
    sent = _simulate(every, gaps, silenced_at=silenced)
    passes = [START + timedelta(seconds=sum(gaps[: i + 1])) for i in range(len(gaps))]
    assert not {passes[i] for i in silenced if i < len(passes)} & set(sent)


def test_a_scheduler_back_after_hours_sends_one_reminder_not_a_burst() -> None:
    assert _simulate(30 * 60, [10 * 3600, 1]) == [START + timedelta(hours=10)]


def test_a_rule_wins_over_its_target_and_values_are_normalised() -> None:
    assert effective_repeat("15m", "1h") == timedelta(minutes=15)
    assert effective_repeat(None, "1h") == timedelta(hours=1)
    assert effective_repeat(None, None) is None
    assert clean_repeat("90m") == "1h30m"
    assert clean_repeat("") is None
    with pytest.raises(ValueError, match="at least 1m"):
        parse_repeat("30s")
    with pytest.raises(ValueError, match="invalid duration"):
        clean_repeat("soon")
