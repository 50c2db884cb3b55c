"""Test helpers shared by fixtures and tests (conftest holds the fixtures)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from medic.detection.scheduler import Scheduler


class Clock:
    """Wall-clock time for everything in this process (datetime.now, time.time), which
    the test moves forward; monotonic time, and so every sleep and timeout, is untouched."""

    def __init__(self, traveller: time_machine.Coordinates) -> None:
        self._traveller = traveller

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, **delta: float) -> datetime:
        self._traveller.shift(timedelta(**delta))
        return self.now()

    def travel_to(self, instant: str) -> datetime:
        """Jump to an ISO 8601 instant (with its offset), and keep ticking from there."""
        self._traveller.move_to(datetime.fromisoformat(instant))
        return self.now()


class RecordingScheduler(Scheduler):
    """The real scheduler; what it would enqueue is kept in `sent` and `jobs` instead."""

    sent: list[int]
    jobs: list[str]
