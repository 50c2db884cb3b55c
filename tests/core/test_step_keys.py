"""The idempotency key of a step: the same for every attempt of one step of one
execution (computed from what its row keeps), different for anything else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from medic.core.step_keys import step_key

REQUESTED = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_one_step_of_one_execution_always_has_the_same_key() -> None:
    key = step_key(17, REQUESTED, 0)
    assert step_key(17, REQUESTED, 0) == key
    assert step_key(17, REQUESTED.replace(tzinfo=None), 0) == key, "a naive UTC time is UTC"


def test_another_step_execution_or_medic_has_another_key() -> None:
    key = step_key(17, REQUESTED, 0)
    others = {
        step_key(17, REQUESTED, 1),
        step_key(18, REQUESTED, 0),
        step_key(17, REQUESTED + timedelta(microseconds=1), 0),
    }
    assert key not in others and len(others) == 3
