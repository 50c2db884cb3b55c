"""When does a service go down, stay down and recover? Specification of `medic.core.detection`.

Pure: each test states what is known about a service (`ServiceFacts`) and the instant
the scheduler looks (`now`), and reads the `Verdict`. `apply` plays the part of
medic.scheduler.evaluator, writing a verdict back into the facts the next pass sees.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from medic.core.detection import Action, OpenRun, ServiceFacts, Verdict, evaluate
from medic.core.schedules import Schedule, deadlines_between, following_deadline, next_due_at
from medic.core.statuses import FAILURES, PROOF_OF_LIFE, Status, exit_status_to_status

REGISTERED = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
T = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
TICK = timedelta(microseconds=1)
NEW_YORK = ZoneInfo("America/New_York")


def every(minutes: int, threshold: int = 1, grace: int = 0) -> Schedule:
    return Schedule(alert_interval_minutes=minutes, threshold=threshold, grace_period_seconds=grace)


EVERY_10 = every(10)


def service(
    schedule: Schedule = EVERY_10,
    *,
    beats: list[datetime] | None = None,
    state: str = "up",
    **known: object,
) -> ServiceFacts:
    """A service whose proof-of-life `beats` (newest first) set its deadline."""
    beats = [T] if beats is None else beats
    return ServiceFacts(
        schedule=schedule,
        state=state,
        next_due_at=next_due_at(schedule, beats, REGISTERED),
        last_alive_at=beats[0] if beats else None,
        **known,  # type: ignore[arg-type]
    )


def apply(facts: ServiceFacts, verdict: Verdict) -> ServiceFacts:
    """What the evaluator writes back: the state, the count, the last counted deadline."""
    muted_until = None if verdict.unmute else facts.muted_until
    if verdict.action in (Action.OPEN, Action.STILL_DOWN):
        return dataclasses.replace(
            facts,
            state="down",
            consecutive_failures=verdict.consecutive_failures,
            missed_deadline_at=verdict.missed_deadline_at,
            muted_until=muted_until,
        )
    if verdict.action == Action.RECOVER:
        state = "up" if facts.last_alive_at is not None else "new"
        return dataclasses.replace(
            facts,
            state=state,
            consecutive_failures=0,
            missed_deadline_at=None,
            muted_until=muted_until,
        )
    return dataclasses.replace(facts, muted_until=muted_until)


def new_york(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK, fold=fold).astimezone(UTC)


# --------------------------------------------------------------------------- lateness


class TestLateness:
    def test_healthy_service_before_its_deadline_needs_nothing(self) -> None:
        verdict = evaluate(service(), T + 10 * MINUTE - TICK)

        assert verdict == Verdict(Action.NOTHING)

    def test_service_is_late_at_its_deadline_exactly(self) -> None:
        verdict = evaluate(service(), T + 10 * MINUTE)

        assert verdict.action == Action.OPEN
        assert verdict.problem is not None
        assert verdict.problem.kind == "late"
        assert verdict.problem.reason == (
            "no heartbeat since 2026-05-01 12:00:00 UTC (due at 2026-05-01 12:10:00 UTC)"
        )
        assert verdict.consecutive_failures == 1

    def test_new_service_is_late_once_counted_from_registration(self) -> None:
        new = service(beats=[], state="new")
        first_deadline = REGISTERED + 10 * MINUTE

        assert evaluate(new, first_deadline - TICK).action == Action.NOTHING
        verdict = evaluate(new, first_deadline)
        assert verdict.action == Action.OPEN
        assert verdict.problem is not None
        assert verdict.problem.reason == "never sent a heartbeat (due at 2026-05-01 09:10:00 UTC)"
        assert (verdict.consecutive_failures, verdict.missed_deadline_at) == (1, first_deadline)

        # Registration starts the count once; after that the schedule's own deadlines follow.
        assert verdict.check_at == first_deadline + 10 * MINUTE
        later = evaluate(apply(new, verdict), first_deadline + 10 * MINUTE)
        assert (later.action, later.consecutive_failures) == (Action.STILL_DOWN, 2)

    def test_grace_period_delays_lateness(self) -> None:
        graced = service(every(10, grace=90))

        assert evaluate(graced, T + 10 * MINUTE).action == Action.NOTHING
        assert evaluate(graced, T + 11 * MINUTE + timedelta(seconds=30) - TICK).action == (
            Action.NOTHING
        )
        assert evaluate(graced, T + 11 * MINUTE + timedelta(seconds=30)).action == Action.OPEN

    def test_threshold_two_needs_two_beats_in_interval(self) -> None:
        schedule = every(10, threshold=2)
        two_beats = service(schedule, beats=[T, T - 4 * MINUTE])

        # Late once the older of the two newest beats leaves the 10-minute interval.
        assert evaluate(two_beats, T + 6 * MINUTE - TICK).action == Action.NOTHING
        assert evaluate(two_beats, T + 6 * MINUTE).action == Action.OPEN

    def test_threshold_two_with_one_beat_is_late_counted_from_registration(self) -> None:
        one_beat = service(every(10, threshold=2), beats=[REGISTERED + 5 * MINUTE])

        verdict = evaluate(one_beat, REGISTERED + 10 * MINUTE)

        assert verdict.action == Action.OPEN

    def test_cron_service_is_late_at_the_first_fire_after_its_last_beat(self) -> None:
        schedule = Schedule(
            schedule_type="cron", cron_expression="30 2 * * *", timezone="America/New_York"
        )
        # The last beat before spring forward: 2026-03-08 02:30 does not exist in New York.
        nightly = service(schedule, beats=[new_york(2026, 3, 7, 2, 31)])

        assert evaluate(nightly, new_york(2026, 3, 9, 2, 30) - TICK).action == Action.NOTHING
        assert evaluate(nightly, new_york(2026, 3, 9, 2, 30)).action == Action.OPEN

    def test_window_service_is_late_at_the_end_of_a_window_short_of_beats(self) -> None:
        schedule = Schedule(schedule_type="window", alert_interval_minutes=60, threshold=2)
        one_beat = service(schedule, beats=[T + 20 * MINUTE])

        assert evaluate(one_beat, T + 60 * MINUTE - TICK).action == Action.NOTHING
        assert evaluate(one_beat, T + 60 * MINUTE).action == Action.OPEN


# --------------------------------------------------------------------------- failure reports


class TestFailureReports:
    def test_failure_report_after_last_proof_of_life_fails_at_once(self) -> None:
        failed = service(last_failure_at=T + timedelta(seconds=1))

        verdict = evaluate(failed, T + timedelta(seconds=2))

        assert verdict.action == Action.OPEN
        assert verdict.problem is not None
        assert verdict.problem.kind == "failed"
        assert verdict.problem.reason == "reported a failure at 2026-05-01 12:00:01 UTC"
        assert verdict.consecutive_failures == 1

    def test_failure_report_from_a_service_that_never_beat_fails_at_once(self) -> None:
        failed = service(beats=[], state="new", last_failure_at=REGISTERED + MINUTE)

        verdict = evaluate(failed, REGISTERED + 2 * MINUTE)

        assert verdict.action == Action.OPEN
        assert verdict.problem is not None
        assert verdict.problem.kind == "failed"

    def test_failure_report_before_the_last_proof_of_life_is_over(self) -> None:
        recovered = service(last_failure_at=T - MINUTE)

        assert evaluate(recovered, T + MINUTE).action == Action.NOTHING

    def test_proof_of_life_after_failure_recovers(self) -> None:
        down = service(
            state="down",
            last_failure_at=T - MINUTE,
            consecutive_failures=1,
        )

        verdict = evaluate(down, T + MINUTE)

        assert verdict.action == Action.RECOVER
        assert verdict.problem is None

    def test_proof_of_life_that_leaves_the_service_late_does_not_recover(self) -> None:
        # Threshold 2: one UP after the failure is not enough to be on time again.
        down = service(
            every(10, threshold=2),
            beats=[T],
            state="down",
            last_failure_at=T - MINUTE,
            consecutive_failures=1,
        )

        verdict = evaluate(down, T + MINUTE)

        assert verdict.action == Action.STILL_DOWN
        assert verdict.problem is not None
        assert verdict.problem.kind == "late"

    def test_a_failure_is_reported_before_a_hung_run_and_lateness(self) -> None:
        everything_wrong = service(
            last_failure_at=T + MINUTE,
            open_runs=[OpenRun("r1", T + 2 * MINUTE)],
            max_duration=5 * MINUTE,
        )

        verdict = evaluate(everything_wrong, T + 60 * MINUTE)

        assert verdict.problem is not None
        assert verdict.problem.kind == "failed"


class TestStatuses:
    @pytest.mark.parametrize("status", [Status.DOWN, Status.FAILED])
    def test_down_status_is_never_proof_of_life(self, status: Status) -> None:
        assert status not in PROOF_OF_LIFE
        assert status in FAILURES

    @pytest.mark.parametrize("status", [Status.UP, Status.DEGRADED, Status.COMPLETED])
    def test_up_degraded_and_completed_are_proof_of_life(self, status: Status) -> None:
        assert status in PROOF_OF_LIFE
        assert status not in FAILURES

    def test_started_proves_neither_life_nor_failure(self) -> None:
        assert Status.STARTED not in PROOF_OF_LIFE | FAILURES

    def test_exit_status_zero_is_a_completion_anything_else_a_failure(self) -> None:
        assert exit_status_to_status(0) == Status.COMPLETED
        assert {exit_status_to_status(code) for code in (1, 2, 127, 255, -1)} == {Status.FAILED}


# --------------------------------------------------------------------------- down and recovery


class TestDownAndRecovery:
    def test_down_service_still_failing_is_not_opened_again(self) -> None:
        late = service()
        opened = evaluate(late, T + 10 * MINUTE)

        again = evaluate(apply(late, opened), T + 15 * MINUTE)

        assert opened.action == Action.OPEN
        assert again.action == Action.STILL_DOWN
        assert again.consecutive_failures == 1

    def test_down_service_that_is_no_longer_failing_recovers(self) -> None:
        down = service(state="down", consecutive_failures=3, missed_deadline_at=T - MINUTE)

        verdict = evaluate(down, T + MINUTE)

        assert verdict == Verdict(Action.RECOVER)

    def test_recovered_service_starts_counting_afresh(self) -> None:
        # A stale count from the previous outage never adds to the next one.
        recovered = apply(
            service(state="down", consecutive_failures=7, missed_deadline_at=T - MINUTE),
            Verdict(Action.RECOVER),
        )

        verdict = evaluate(recovered, T + 10 * MINUTE)

        assert (verdict.action, verdict.consecutive_failures) == (Action.OPEN, 1)


# --------------------------------------------------------------------------- counting


class TestConsecutiveFailures:
    def test_consecutive_failures_count_missed_deadlines_not_passes(self) -> None:
        late = service()  # due 12:10, then every 10 minutes
        opened = evaluate(late, T + 12 * MINUTE)
        assert (opened.consecutive_failures, opened.missed_deadline_at) == (1, T + 10 * MINUTE)

        # The same facts at the same instant: the same verdict, however often the pass runs.
        assert evaluate(late, T + 12 * MINUTE) == opened
        down = apply(late, opened)
        for _ in range(3):
            again = evaluate(down, T + 12 * MINUTE)
            assert again.consecutive_failures == 1
            down = apply(down, again)
        assert evaluate(down, T + 20 * MINUTE - TICK).consecutive_failures == 1

        # Past the next deadline: exactly one more.
        at_next = evaluate(down, T + 20 * MINUTE)
        assert (at_next.consecutive_failures, at_next.missed_deadline_at) == (2, T + 20 * MINUTE)
        assert at_next.check_at == T + 30 * MINUTE

    def test_first_detection_counts_every_deadline_already_missed(self) -> None:
        # The scheduler was away: 12:10, 12:20, 12:30 and 12:40 have all passed.
        verdict = evaluate(service(), T + 45 * MINUTE)

        assert verdict.action == Action.OPEN
        assert (verdict.consecutive_failures, verdict.missed_deadline_at) == (4, T + 40 * MINUTE)
        assert verdict.check_at == T + 50 * MINUTE

    def test_a_failure_report_is_one_failure_until_the_deadline_passes(self) -> None:
        failed = service(last_failure_at=T + MINUTE)
        opened = evaluate(failed, T + 2 * MINUTE)
        assert (opened.consecutive_failures, opened.missed_deadline_at) == (1, None)
        assert opened.check_at == T + 10 * MINUTE  # look again when the deadline passes

        down = apply(failed, opened)
        assert evaluate(down, T + 10 * MINUTE - TICK).consecutive_failures == 1
        assert evaluate(down, T + 10 * MINUTE).consecutive_failures == 2

    def test_cron_missed_deadlines_skip_the_fire_time_lost_to_spring_forward(self) -> None:
        schedule = Schedule(
            schedule_type="cron", cron_expression="30 2 * * *", timezone="America/New_York"
        )
        nightly = service(schedule, beats=[new_york(2026, 3, 6, 2, 31)])  # due 03-07 02:30

        verdict = evaluate(nightly, new_york(2026, 3, 9, 3, 0))

        # 03-07 02:30 EST and 03-09 02:30 EDT; 03-08 02:30 never happened.
        assert verdict.consecutive_failures == 2
        assert verdict.missed_deadline_at == new_york(2026, 3, 9, 2, 30)
        assert verdict.check_at == new_york(2026, 3, 10, 2, 30)

    def test_cron_missed_deadlines_count_the_repeated_hour_once(self) -> None:
        schedule = Schedule(
            schedule_type="cron", cron_expression="30 1 * * *", timezone="America/New_York"
        )
        nightly = service(schedule, beats=[new_york(2026, 10, 31, 1, 31)])  # due 11-01 01:30
        opened = evaluate(nightly, new_york(2026, 11, 1, 1, 45))

        again = evaluate(apply(nightly, opened), new_york(2026, 11, 1, 1, 45, fold=1))

        assert opened.consecutive_failures == again.consecutive_failures == 1
        assert again.check_at == new_york(2026, 11, 2, 1, 30)

    def test_window_missed_deadlines_are_window_ends(self) -> None:
        schedule = Schedule(schedule_type="window", alert_interval_minutes=60, threshold=2)
        one_beat = service(schedule, beats=[T + 20 * MINUTE])  # due 13:00

        verdict = evaluate(one_beat, T + 3 * 60 * MINUTE + MINUTE)

        assert verdict.consecutive_failures == 3  # 13:00, 14:00, 15:00
        assert verdict.check_at == T + 4 * 60 * MINUTE

    def test_a_long_outage_is_counted_in_full_and_checked_in_the_future(self) -> None:
        every_minute = service(every(1))  # due 12:01
        now = T + 2001 * MINUTE

        verdict = evaluate(every_minute, now)

        assert verdict.check_at is not None
        assert verdict.check_at > now
        assert verdict.consecutive_failures == 2001

    @pytest.mark.parametrize(
        "schedule",
        [
            Schedule(schedule_type="window", alert_interval_minutes=5, threshold=1),
            Schedule(schedule_type="cron", cron_expression="*/5 * * * *", timezone="UTC"),
        ],
    )
    def test_a_long_outage_on_window_and_cron_schedules_is_counted_in_full(
        self, schedule: Schedule
    ) -> None:
        """Hypothesis found it: 1,000+ windows missed, `now` exactly on a boundary."""
        never_beat = dataclasses.replace(service(schedule), state="new", next_due_at=T + 5 * MINUTE)
        now = T + 5 * MINUTE * 2500

        verdict = evaluate(never_beat, now)

        assert verdict.consecutive_failures == 2500
        assert verdict.check_at == now + 5 * MINUTE


# --------------------------------------------------------------------------- job runs


class TestJobRuns:
    run = OpenRun("nightly-42", T + MINUTE)

    def test_hung_run_fails_at_max_duration_not_before(self) -> None:
        running = service(every(24 * 60), open_runs=[self.run], max_duration=30 * MINUTE)
        hung_at = self.run.started_at + 30 * MINUTE

        before = evaluate(running, hung_at - TICK)
        verdict = evaluate(running, hung_at)

        assert before.action == Action.NOTHING
        assert before.check_at == hung_at
        assert verdict.action == Action.OPEN
        assert verdict.problem is not None
        assert verdict.problem.kind == "hung"
        assert verdict.problem.run == self.run
        assert verdict.problem.reason == (
            "run nightly-42 started at 2026-05-01 12:01:00 UTC is still running after 30m"
        )

    def test_run_started_without_completion_is_late_at_the_schedule_deadline(self) -> None:
        running = service(open_runs=[self.run])  # no max_duration: never hung

        assert evaluate(running, T + 10 * MINUTE - TICK).action == Action.NOTHING
        verdict = evaluate(running, T + 10 * MINUTE)

        assert verdict.action == Action.OPEN
        assert verdict.problem is not None
        assert verdict.problem.kind == "late"
        assert verdict.problem.run == self.run
        assert verdict.problem.reason == (
            "run nightly-42 started at 2026-05-01 12:01:00 UTC has not completed"
        )

    def test_run_without_an_id_is_described_as_the_run(self) -> None:
        running = service(open_runs=[OpenRun(None, T + MINUTE)])

        verdict = evaluate(running, T + 10 * MINUTE)

        assert verdict.problem is not None
        assert verdict.problem.reason.startswith("the run started at 2026-05-01 12:01:00 UTC")

    def test_run_superseded_by_later_proof_of_life_is_not_hung(self) -> None:
        # Its COMPLETED never came, but a later beat proves the service alive.
        superseded = service(
            every(24 * 60),
            beats=[self.run.started_at + 5 * MINUTE],
            open_runs=[self.run],
            max_duration=30 * MINUTE,
        )

        verdict = evaluate(superseded, self.run.started_at + 60 * MINUTE)

        assert verdict == Verdict(Action.NOTHING)  # and no check at its max duration

    def test_the_oldest_overdue_run_is_the_one_reported(self) -> None:
        older, newer = OpenRun("a", T + MINUTE), OpenRun("b", T + 2 * MINUTE)
        both = service(every(24 * 60), open_runs=[newer, older], max_duration=5 * MINUTE)

        verdict = evaluate(both, T + 10 * MINUTE)

        assert verdict.problem is not None
        assert verdict.problem.run == older

    def test_the_next_check_is_the_earliest_run_to_reach_max_duration(self) -> None:
        runs = [OpenRun("a", T + 3 * MINUTE), OpenRun("b", T + MINUTE)]
        running = service(every(24 * 60), open_runs=runs, max_duration=30 * MINUTE)

        assert evaluate(running, T + 2 * MINUTE).check_at == T + 31 * MINUTE

    def test_hung_service_recovers_once_proof_of_life_arrives(self) -> None:
        done = service(
            every(24 * 60),
            beats=[self.run.started_at + 45 * MINUTE],
            state="down",
            open_runs=[self.run],
            max_duration=30 * MINUTE,
            consecutive_failures=1,
        )

        assert evaluate(done, self.run.started_at + 46 * MINUTE).action == Action.RECOVER


# --------------------------------------------------------------------------- muting


class TestMuting:
    def test_mute_expiry_is_a_check(self) -> None:
        muted = service(every(24 * 60), muted_until=T + 30 * MINUTE)

        verdict = evaluate(muted, T + MINUTE)

        assert verdict == Verdict(Action.NOTHING, check_at=T + 30 * MINUTE, unmute=False)

    def test_a_mute_is_lifted_when_it_expires(self) -> None:
        muted = service(every(24 * 60), muted_until=T + 30 * MINUTE)

        assert evaluate(muted, T + 30 * MINUTE - TICK).unmute is False
        verdict = evaluate(muted, T + 30 * MINUTE)
        assert verdict.unmute is True
        assert verdict.check_at is None

    def test_muting_silences_notifications_not_detection(self) -> None:
        late = service()
        muted = dataclasses.replace(late, muted_until=T + 24 * 60 * MINUTE)
        now = T + 25 * MINUTE

        verdict, muted_verdict = evaluate(late, now), evaluate(muted, now)

        assert muted_verdict.action == verdict.action == Action.OPEN
        assert muted_verdict.consecutive_failures == verdict.consecutive_failures == 2


# --------------------------------------------------------------------------- properties

ZONES = ("UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Santiago")
INSTANTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
OFFSETS = st.integers(min_value=-2 * 86400, max_value=2 * 86400).map(
    lambda seconds: timedelta(seconds=seconds)
)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    """Schedules with at most a few hundred deadlines in two days."""
    zone = draw(st.sampled_from(ZONES))
    grace = draw(st.sampled_from([0, 0, 30, 600]))
    kind = draw(st.sampled_from(["interval", "cron", "window"]))
    if kind == "cron":
        expression = draw(st.sampled_from(["30 2 * * *", "0 * * * *", "*/15 1-3 * * *"]))
        return Schedule(
            schedule_type="cron",
            cron_expression=expression,
            timezone=zone,
            grace_period_seconds=grace,
        )
    return Schedule(
        schedule_type=kind,
        alert_interval_minutes=draw(st.sampled_from([5, 10, 60, 90, 24 * 60])),
        threshold=draw(st.integers(min_value=1, max_value=2)),
        timezone=zone,
        grace_period_seconds=grace,
    )


@st.composite
def any_facts(draw: st.DrawFn) -> tuple[ServiceFacts, datetime]:
    """Facts a service can have, and an instant to evaluate them at."""
    schedule = draw(schedules())
    anchor = draw(INSTANTS)
    alive = draw(st.none() | st.just(anchor))
    beats = [] if alive is None else [alive] * draw(st.integers(1, 2))
    registered = anchor - abs(draw(OFFSETS))
    due = next_due_at(schedule, beats, registered)
    now = anchor + draw(OFFSETS)
    state = draw(st.sampled_from(["new", "up", "down"]))
    missed = None
    if state == "down" and draw(st.booleans()):
        # Counted so far: the deadline itself, one of its followers, or one from an old outage.
        missed = due
        for _ in range(draw(st.integers(0, 3))):
            missed = following_deadline(schedule, missed)
        if draw(st.booleans()):
            missed = due - draw(st.integers(1, 10**6)) * timedelta(seconds=1)
        assume(missed <= now)
    facts = ServiceFacts(
        schedule=schedule,
        state=state,
        next_due_at=due,
        last_alive_at=alive,
        last_failure_at=draw(st.none() | st.just(anchor + draw(OFFSETS))),
        max_duration=draw(st.none() | st.sampled_from([MINUTE, 30 * MINUTE, 6 * 60 * MINUTE])),
        open_runs=[
            OpenRun(run_id, anchor + offset)
            for run_id, offset in draw(
                st.lists(st.tuples(st.none() | st.text(max_size=5), OFFSETS), max_size=3)
            )
        ],
        consecutive_failures=draw(st.integers(1, 5)) if state == "down" else 0,
        missed_deadline_at=missed,
        muted_until=draw(st.none() | st.just(anchor + draw(OFFSETS))),
    )
    return facts, now


class TestDetectionProperties:
    @settings(max_examples=200, deadline=None)
    @given(any_facts())
    def test_check_at_is_never_in_the_past(self, facts_now: tuple[ServiceFacts, datetime]) -> None:
        facts, now = facts_now

        verdict = evaluate(facts, now)

        assert verdict.check_at is None or verdict.check_at > now

    @settings(max_examples=200, deadline=None)
    @given(any_facts())
    def test_a_second_pass_at_the_same_instant_changes_nothing(
        self, facts_now: tuple[ServiceFacts, datetime]
    ) -> None:
        facts, now = facts_now
        first = evaluate(facts, now)

        second = evaluate(apply(facts, first), now)

        assert evaluate(facts, now) == first
        assert second.problem == first.problem
        if first.problem is None:
            assert second.action == Action.NOTHING
        else:
            assert second.action == Action.STILL_DOWN
            assert second.consecutive_failures == first.consecutive_failures
            assert second.missed_deadline_at == first.missed_deadline_at
        assert second.check_at == first.check_at

    @settings(max_examples=200, deadline=None)
    @given(any_facts())
    def test_a_service_goes_down_only_if_it_has_a_problem_and_was_up(
        self, facts_now: tuple[ServiceFacts, datetime]
    ) -> None:
        facts, now = facts_now

        verdict = evaluate(facts, now)

        expected = {
            (True, True): Action.STILL_DOWN,
            (True, False): Action.RECOVER,
            (False, True): Action.OPEN,
            (False, False): Action.NOTHING,
        }[(facts.state == "down", verdict.problem is not None)]
        assert verdict.action == expected
        if verdict.problem is not None:
            assert verdict.consecutive_failures >= 1
        assert verdict.unmute == (facts.muted_until is not None and facts.muted_until <= now)

    @settings(max_examples=100, deadline=None)
    @given(
        schedules(),
        INSTANTS,
        st.lists(
            st.integers(min_value=-3600, max_value=2 * 86400).map(
                lambda seconds: timedelta(seconds=seconds)
            ),
            min_size=1,
            max_size=8,
        ),
    )
    def test_the_count_is_the_number_of_deadlines_passed_whenever_the_passes_run(
        self, schedule: Schedule, beat: datetime, pass_offsets: list[timedelta]
    ) -> None:
        facts = service(schedule, beats=[beat] * schedule.threshold)
        due = facts.next_due_at

        for now in sorted(due + offset for offset in pass_offsets):
            verdict = evaluate(facts, now)
            passed = deadlines_between(schedule, due, now, limit=10**6)
            if now < due:
                assert verdict.action == Action.NOTHING
                assert verdict.check_at is None
            else:
                assert verdict.consecutive_failures == 1 + len(passed)
                last_counted = passed[-1] if passed else due
                assert verdict.missed_deadline_at == last_counted
                assert verdict.check_at == following_deadline(schedule, last_counted)
            facts = apply(facts, verdict)

    @settings(max_examples=100, deadline=None)
    @given(schedules(), INSTANTS)
    def test_waking_at_each_check_counts_one_more_failure(
        self, schedule: Schedule, beat: datetime
    ) -> None:
        facts = service(schedule, beats=[beat] * schedule.threshold)
        now = facts.next_due_at

        for count in range(1, 6):
            verdict = evaluate(facts, now)
            assert verdict.consecutive_failures == count
            assert verdict.check_at is not None
            assert verdict.check_at > now
            facts, now = apply(facts, verdict), verdict.check_at
