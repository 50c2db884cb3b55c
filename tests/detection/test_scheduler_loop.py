"""The scheduler's loop: woken by every heartbeat that needs a look, it still starts its
passes at least PASS_SPACING_SECONDS apart, so a burst of wake-ups or deadlines cannot
keep it busy (a pass costs the same few milliseconds whatever it finds)."""

from __future__ import annotations

import itertools
import time
from datetime import datetime

from medic.config import Settings
from medic.db import Database
from medic.process import MedicProcess
from medic.scheduler.loop import PASS_SPACING_SECONDS, PassResult
from tests.support import RecordingScheduler


class TimedScheduler(RecordingScheduler):
    """The real scheduler, noting when each pass starts."""

    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(db, settings)
        self.started: list[float] = []

    def run_pass(self, now: datetime | None = None) -> PassResult:
        self.started.append(time.monotonic())
        return super().run_pass(now)


def test_passes_start_a_spacing_apart_however_often_the_scheduler_is_woken(
    medic: MedicProcess,
) -> None:
    scheduler = TimedScheduler(medic.db, medic.settings)
    scheduler.start()
    try:
        until = time.monotonic() + 1.0
        while time.monotonic() < until:
            medic.db.wakeup.set()
            time.sleep(0.001)
    finally:
        scheduler.stop()

    starts = scheduler.started
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(starts) >= 3, "woken, the scheduler looks again"
    assert min(gaps) >= PASS_SPACING_SECONDS - 0.001
