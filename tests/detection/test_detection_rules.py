"""A service's detection rules end to end, on SQLite and PostgreSQL: set through the
API, heartbeats through the ingest path, a scheduler pass, time moved by the test clock.

Alert after N failures in a row and recover after M successes (missed deadlines and
failure reports alike), a run too fast, a window with too many beats or too few (and
saying how many), a job that did not start within its start grace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import col, select

from medic.models import Alert, Service
from medic.process import MedicProcess
from tests.support import Clock, RecordingScheduler

Register = Callable[..., dict[str, Any]]
Beat = Callable[..., None]
LEAP_DAY = "2028-02-29T10:00:00+00:00"


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Wall-clock time frozen: every duration and window is what the test says."""
    with time_machine.travel(datetime.now(UTC).replace(microsecond=0), tick=False) as traveller:
        yield Clock(traveller)


@pytest.fixture
def beat(client: TestClient, write_headers: dict[str, str]) -> Beat:
    def send(status: str = "UP", name: str = "nightly-backup", **extra: Any) -> None:
        body = {"heartbeat_name": name, "status": status, **extra}
        answer = client.post("/v2/heartbeats", json=body, headers=write_headers)
        assert answer.status_code == 201, answer.text

    return send


def service(medic: MedicProcess, name: str = "nightly-backup") -> Service:
    with medic.db.session() as session:
        return session.exec(select(Service).where(Service.heartbeat_name == name)).one()


def alerts(medic: MedicProcess) -> list[Alert]:
    with medic.db.session() as session:
        return list(session.exec(select(Alert).order_by(col(Alert.alert_id))))


def test_an_alert_opens_at_the_nth_failure_in_a_row_reports_and_deadlines_alike(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler, register: Register, beat: Beat
) -> None:
    register(alert_interval=1, alert_after_failures=3)
    beat()
    clock.advance(seconds=1)
    beat("FAILED")
    assert scheduler.run_pass().opened == 0
    pending = service(medic)
    assert (pending.state, pending.consecutive_failures) == ("up", 1)
    assert "failure 1 of 3 in a row before it alerts" in (pending.state_reason or "")
    clock.advance(seconds=1)
    beat("DOWN")
    assert scheduler.run_pass().opened == 0
    assert service(medic).consecutive_failures == 2
    assert scheduler.run_pass().evaluated == 0  # counted once, not every pass
    clock.advance(seconds=60)  # the deadline of the last UP passes: the third failure
    assert scheduler.run_pass().opened == 1
    down = service(medic)
    assert (down.state, down.consecutive_failures) == ("down", 3)
    assert [a.alert_cycle for a in alerts(medic)] == [3]


def test_a_service_counting_failures_that_beats_again_starts_over(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler, register: Register, beat: Beat
) -> None:
    register(alert_interval=1, alert_after_failures=2)
    beat()
    clock.advance(seconds=1)
    beat("FAILED")
    scheduler.run_pass()
    clock.advance(seconds=1)
    beat()
    scheduler.run_pass()
    cleared = service(medic)
    assert (cleared.consecutive_failures, cleared.state) == (0, "up")
    clock.advance(seconds=1)
    beat("FAILED")
    assert scheduler.run_pass().opened == 0  # one failure in a row again, not two
    clock.advance(seconds=58)
    assert scheduler.run_pass().opened == 0
    clock.advance(seconds=2)  # the deadline of the last UP: two in a row
    assert scheduler.run_pass().opened == 1


def test_recovery_needs_m_successes_in_a_row_and_a_missed_deadline_breaks_the_run(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler, register: Register, beat: Beat
) -> None:
    register(alert_interval=1, recover_after_successes=2)
    beat()
    clock.advance(seconds=61)
    assert scheduler.run_pass().opened == 1
    beat()
    assert scheduler.run_pass().recovered == 0
    recovering = service(medic)
    assert recovering.state == "down"
    assert "recovers after 2 in a row" in (recovering.state_reason or "")
    clock.advance(seconds=61)  # no second beat before the deadline: a failure again
    scheduler.run_pass()
    assert service(medic).consecutive_failures == 2
    beat()
    assert scheduler.run_pass().recovered == 0
    clock.advance(seconds=5)
    beat()
    assert scheduler.run_pass().recovered == 1
    assert [a.active for a in alerts(medic)] == [False]


def test_a_run_that_finishes_too_fast_is_a_failure_not_proof_of_life(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler, register: Register, beat: Beat
) -> None:
    register(alert_interval=24 * 60, min_duration_seconds=20 * 60, max_duration_seconds=3600)
    beat("STARTED")
    clock.advance(seconds=2)
    beat("COMPLETED")
    assert scheduler.run_pass().opened == 1
    reason = service(medic).state_reason or ""
    assert reason.startswith("finished in 2 s, expected at least 20 min")
    assert service(medic).last_alive_at is None
    beat("STARTED", run_id="second")
    clock.advance(minutes=25)
    beat("COMPLETED", run_id="second")
    assert scheduler.run_pass().recovered == 1


def test_too_many_beats_in_a_window_is_a_failure_until_the_next_window(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler, register: Register, beat: Beat
) -> None:
    clock.travel_to(LEAP_DAY)
    register(schedule_type="window", alert_interval=60, max_beats=2)
    for _ in range(2):
        clock.advance(minutes=5)
        beat()
    assert scheduler.run_pass().opened == 0
    clock.advance(minutes=5)
    beat()
    assert scheduler.run_pass().opened == 1
    assert (service(medic).state_reason or "").startswith(
        "3 heartbeats in the window, at most 2 expected"
    )
    clock.travel_to("2028-02-29T11:05:00+00:00")
    beat()
    assert scheduler.run_pass().recovered == 1


def test_a_window_service_that_is_down_says_how_many_of_its_beats_came(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler, register: Register, beat: Beat
) -> None:
    clock.travel_to(LEAP_DAY)
    register(schedule_type="window", alert_interval=60, threshold=3)
    for _ in range(2):
        clock.advance(minutes=5)
        beat()
    clock.travel_to("2028-02-29T11:00:01+00:00")
    assert scheduler.run_pass().opened == 1
    assert service(medic).state_reason == (
        "2 of 3 heartbeats in the window 2028-02-29 10:00:00 UTC to 2028-02-29 11:00:00 UTC"
    )


def test_a_job_that_does_not_start_within_its_start_grace_alerts_before_its_grace_ends(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler, register: Register, beat: Beat
) -> None:
    clock.travel_to("2028-02-28T03:00:00+00:00")
    register(
        schedule_type="cron",
        cron_expression="0 2 * * *",
        grace_period_seconds=2 * 3600,
        start_grace_seconds=300,
    )
    beat("COMPLETED")
    clock.travel_to("2028-02-29T02:04:00+00:00")
    assert scheduler.run_pass().opened == 0
    clock.travel_to("2028-02-29T02:06:00+00:00")
    assert scheduler.run_pass().opened == 1
    assert service(medic).state_reason == (
        "did not start by 2028-02-29 02:05:00 UTC (expected at 2028-02-29 02:00:00 UTC, "
        "start grace 5 min)"
    )
    beat("STARTED")
    assert scheduler.run_pass().recovered == 1
    clock.travel_to("2028-02-29T03:30:00+00:00")
    beat("COMPLETED")
    clock.travel_to("2028-02-29T04:01:00+00:00")
    assert scheduler.run_pass().opened == 0


def test_a_job_that_starts_in_time_has_the_whole_grace_period_to_complete(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler, register: Register, beat: Beat
) -> None:
    clock.travel_to("2028-02-28T03:00:00+00:00")
    register(
        schedule_type="cron",
        cron_expression="0 2 * * *",
        grace_period_seconds=2 * 3600,
        start_grace_seconds=300,
    )
    beat("COMPLETED")
    clock.travel_to("2028-02-29T02:01:00+00:00")
    beat("STARTED")
    clock.travel_to("2028-02-29T02:06:00+00:00")
    assert scheduler.run_pass().opened == 0
    clock.travel_to("2028-02-29T03:59:00+00:00")
    assert scheduler.run_pass().opened == 0
    clock.travel_to("2028-02-29T04:01:00+00:00")
    assert scheduler.run_pass().opened == 1
    assert "has not completed" in (service(medic).state_reason or "")


def test_the_default_rules_change_nothing(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler, register: Register, beat: Beat
) -> None:
    created = register(alert_interval=1)
    assert {k: created[k] for k in ("alert_after_failures", "recover_after_successes")} == {
        "alert_after_failures": 1,
        "recover_after_successes": 1,
    }
    assert created["min_duration_seconds"] is None and created["start_grace_seconds"] is None
    beat()
    clock.advance(seconds=1)
    beat("FAILED")
    assert scheduler.run_pass().opened == 1
    beat()
    assert scheduler.run_pass().recovered == 1
