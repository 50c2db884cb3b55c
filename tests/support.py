"""Test helpers shared by fixtures and tests (conftest holds the fixtures)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import time_machine

from medic.config import Settings
from medic.db import Database
from medic.scheduler.loop import Scheduler

# A PostgreSQL trigger that refuses every update of a service (the update a heartbeat
# batch makes after inserting its events), and the statement that drops it again: the
# test database is shared, so a test drops it whatever happened.
REFUSE_SERVICE_UPDATES = """
CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql
AS $$ BEGIN RAISE EXCEPTION 'service updates refused'; END $$;
CREATE TRIGGER refuse_update BEFORE UPDATE ON services
FOR EACH ROW EXECUTE FUNCTION refuse_update();
"""
STOP_REFUSING_SERVICE_UPDATES = "DROP FUNCTION refuse_update() CASCADE"


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


@dataclass
class Recorder:
    """A scheduler's Dispatch that keeps what it would enqueue, for the test to do."""

    sent: list[int] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)
    executions: list[int] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)

    def send_notifications(self, notification_ids: Sequence[int]) -> None:
        self.sent.extend(notification_ids)

    def send_delivery(self, delivery_id: int, delay_seconds: float = 0) -> None:
        self.deliveries.append(delivery_id)

    def send_execution(self, execution_id: int, delay_seconds: float = 0) -> None:
        self.executions.append(execution_id)

    def send_periodic(self, job: str) -> None:
        self.jobs.append(job)


class RecordingScheduler(Scheduler):
    """The real scheduler; what it would enqueue is kept in `recorded` instead."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.recorded = Recorder()
        super().__init__(db, settings, self.recorded)

    @property
    def sent(self) -> list[int]:
        return self.recorded.sent

    @property
    def jobs(self) -> list[str]:
        return self.recorded.jobs
