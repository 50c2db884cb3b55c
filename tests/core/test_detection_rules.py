"""The detection rules a service adds to its schedule: specification of
`medic.core.detection_rules` and of how `medic.core.detection` applies them.

Alert after N failures in a row and recover after M successes (missed deadlines and
failure reports alike), too fast (min_duration), too frequent (max_beats), a job's
start grace; the times involved are checked as properties across DST changes and leap
days in zones of every DST shape.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medic.core.detection import Action, OpenRun, ServiceFacts, evaluate
from medic.core.detection_rules import (
    Rules,
    beats_in_window,
    missed_window,
    start_deadline,
    too_fast,
    too_frequent,
    validate_rules,
)
from medic.core.durations import spoken_duration
from medic.core.schedules import Schedule, following_deadline, next_due_at, window_start

REGISTERED = datetime(2028, 2, 28, 9, 0, tzinfo=UTC)
T = datetime(2028, 2, 28, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
EVERY_10 = Schedule(alert_interval_minutes=10)
DST_ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "UTC",
)
# Two leap years and the DST changes of both hemispheres in between.
INSTANTS = st.datetimes(
    min_value=datetime(2027, 12, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


def facts(schedule: Schedule = EVERY_10, rules: Rules = Rules(), **known: object) -> ServiceFacts:
    return ServiceFacts(
        schedule=schedule,
        state=str(known.pop("state", "up")),
        next_due_at=next_due_at(schedule, [T], REGISTERED),
        last_alive_at=T,
        rules=rules,
        **known,  # type: ignore[arg-type]
    )


class TestSpokenDurations:
    @pytest.mark.parametrize(
        ("seconds", "spoken"),
        [
            (2, "2 s"),
            (20 * 60, "20 min"),
            (72 * 60, "1 h 12 min"),
            (72 * 60 + 30, "1 h 12 min"),
            (86400 + 4 * 3600, "1 d 4 h"),
            (0.4, "under 1 s"),
        ],
    )
    def test_two_largest_units(self, seconds: float, spoken: str) -> None:
        assert spoken_duration(timedelta(seconds=seconds)) == spoken

    @given(st.integers(min_value=1, max_value=400 * 86400))
    def test_never_says_more_than_it_was_nor_a_unit_less(self, seconds: int) -> None:
        units = {"d": 86400, "h": 3600, "min": 60, "s": 1}
        words = spoken_duration(timedelta(seconds=seconds)).split()
        said = sum(int(n) * units[u] for n, u in zip(words[::2], words[1::2], strict=True))
        smallest = units[words[-1]]
        assert said <= seconds < said + max(smallest, units[words[1]])


class TestValidation:
    def test_defaults_are_valid_for_every_schedule(self) -> None:
        for schedule_type in ("interval", "window"):
            validate_rules(Rules(), Schedule(schedule_type=schedule_type), None)

    @pytest.mark.parametrize(
        ("rules", "schedule", "max_duration", "field"),
        [
            (Rules(alert_after_failures=0), EVERY_10, None, "alert_after_failures"),
            (Rules(recover_after_successes=1001), EVERY_10, None, "recover_after_successes"),
            (Rules(min_duration_seconds=3600), EVERY_10, 3600, "min_duration_seconds"),
            (Rules(max_beats=3), EVERY_10, None, "max_beats applies only"),
            (Rules(max_beats=1), Schedule(schedule_type="window", threshold=2), None, "max_beats"),
            (Rules(start_grace_seconds=60), EVERY_10, None, "start_grace_seconds"),
            (
                Rules(start_grace_seconds=600),
                Schedule(grace_period_seconds=600),
                None,
                "less than grace_period_seconds",
            ),
        ],
    )
    def test_contradictions_are_refused_naming_the_field(
        self, rules: Rules, schedule: Schedule, max_duration: int | None, field: str
    ) -> None:
        with pytest.raises(ValueError, match=field):
            validate_rules(rules, schedule, max_duration)


class TestTooFastAndTooFrequent:
    def test_a_run_shorter_than_its_minimum_says_both_durations(self) -> None:
        reason = too_fast(timedelta(seconds=2), 20 * 60)
        assert reason == "finished in 2 s, expected at least 20 min"
        assert too_fast(timedelta(minutes=20), 20 * 60) is None
        assert too_fast(timedelta(seconds=1), None) is None

    @given(st.integers(0, 10**6), st.integers(1, 366 * 86400))
    def test_too_fast_exactly_when_shorter(self, seconds: int, minimum: int) -> None:
        assert (too_fast(timedelta(seconds=seconds), minimum) is not None) == (seconds < minimum)

    def test_one_beat_beyond_the_maximum_is_too_frequent(self) -> None:
        assert too_frequent(3, 3) is None
        assert too_frequent(4, 3) == "4 heartbeats in the window, at most 3 expected"
        assert too_frequent(99, None) is None

    @settings(max_examples=200, deadline=None)
    @given(
        st.sampled_from(DST_ZONES),
        st.sampled_from([30, 60, 180, 24 * 60]),
        st.lists(INSTANTS, min_size=1, max_size=12),
    )
    def test_beats_in_window_counts_the_window_of_the_beat_across_dst_and_leap_days(
        self, zone: str, minutes: int, beats: list[datetime]
    ) -> None:
        schedule = Schedule(schedule_type="window", alert_interval_minutes=minutes, timezone=zone)
        at = max(beats)
        start = window_start(at, schedule.interval, zone)
        expected = [b for b in beats if window_start(b, schedule.interval, zone) == start]
        assert beats_in_window(schedule, beats, at) == len(expected)


class TestMissedWindow:
    @settings(max_examples=200, deadline=None)
    @given(
        st.sampled_from(DST_ZONES),
        st.sampled_from([30, 60, 90, 24 * 60]),
        st.integers(1, 3),
        st.integers(0, 3600),
        st.lists(INSTANTS, max_size=5),
    )
    def test_the_missed_window_ends_at_the_deadline_and_holds_its_instants(
        self, zone: str, minutes: int, threshold: int, grace: int, beats: list[datetime]
    ) -> None:
        schedule = Schedule(
            schedule_type="window",
            alert_interval_minutes=minutes,
            threshold=threshold,
            timezone=zone,
            grace_period_seconds=grace,
        )
        due = next_due_at(schedule, sorted(beats, reverse=True), REGISTERED)
        start, end = missed_window(schedule, due)
        assert end == due - schedule.grace
        assert start < end
        for instant in (start, end - timedelta(microseconds=1), start + (end - start) / 2):
            assert window_start(instant, schedule.interval, zone) == start

    def test_a_window_service_that_is_down_says_how_many_of_its_beats_came(self) -> None:
        schedule = Schedule(schedule_type="window", alert_interval_minutes=60, threshold=3)
        known = facts(schedule, window_beats=2)
        problem = evaluate(known, known.next_due_at + MINUTE).problem
        assert problem is not None
        assert problem.reason.startswith("2 of 3 heartbeats in the window")
        assert "no heartbeat since" not in problem.reason


class TestFailuresInARow:
    def test_fewer_failures_than_the_rule_are_counted_quietly(self) -> None:
        rules = Rules(alert_after_failures=3)
        known = facts(rules=rules, last_failure_at=T + MINUTE, failure_reports=1)
        verdict = evaluate(known, T + 2 * MINUTE)
        assert verdict.action == Action.PENDING
        assert verdict.consecutive_failures == 1
        assert verdict.check_at == known.next_due_at  # the next deadline is the next count

    def test_missed_deadlines_and_failure_reports_count_alike(self) -> None:
        rules = Rules(alert_after_failures=3)
        known = facts(rules=rules, last_failure_at=T + MINUTE, failure_reports=2)
        assert evaluate(known, known.next_due_at - MINUTE).action == Action.PENDING
        verdict = evaluate(known, known.next_due_at + MINUTE)
        assert (verdict.action, verdict.consecutive_failures) == (Action.OPEN, 3)

    def test_a_pending_service_that_beats_again_starts_over(self) -> None:
        known = facts(rules=Rules(alert_after_failures=3), consecutive_failures=2)
        assert evaluate(known, T + MINUTE).action == Action.CLEARED

    @settings(max_examples=150, deadline=None)
    @given(
        st.sampled_from(DST_ZONES),
        st.sampled_from(["30 2 * * *", "0 0 29 2 *", "*/45 * * * *", "0 1 * * 0"]),
        st.integers(1, 6),
        st.integers(1, 8),
        INSTANTS,
    )
    def test_an_alert_opens_at_the_nth_missed_deadline_of_a_cron_schedule(
        self, zone: str, expression: str, wanted: int, missed: int, beat: datetime
    ) -> None:
        schedule = Schedule(schedule_type="cron", cron_expression=expression, timezone=zone)
        due = next_due_at(schedule, [beat], REGISTERED)
        deadline = due
        for _ in range(missed - 1):
            deadline = following_deadline(schedule, deadline)
        known = ServiceFacts(
            schedule=schedule,
            state="up",
            next_due_at=due,
            last_alive_at=beat,
            rules=Rules(alert_after_failures=wanted),
        )
        verdict = evaluate(known, deadline)
        assert verdict.consecutive_failures == missed
        assert verdict.action == (Action.OPEN if missed >= wanted else Action.PENDING)


class TestSuccessesInARow:
    def test_down_until_enough_successes_in_a_row(self) -> None:
        rules = Rules(recover_after_successes=3)
        known = facts(rules=rules, state="down", consecutive_failures=4, successes=2)
        verdict = evaluate(known, T + MINUTE)
        assert verdict.action == Action.RECOVERING
        assert verdict.consecutive_failures == 4
        assert verdict.check_at == known.next_due_at  # a missed deadline breaks the run
        recovered = dataclasses.replace(known, successes=3)
        assert evaluate(recovered, T + MINUTE).action == Action.RECOVER

    def test_the_default_recovers_at_once(self) -> None:
        known = facts(state="down", consecutive_failures=1)
        assert evaluate(known, T + MINUTE).action == Action.RECOVER


class TestStartGrace:
    SCHEDULE = Schedule(alert_interval_minutes=60, grace_period_seconds=2 * 3600)
    RULES = Rules(start_grace_seconds=300)

    def test_a_job_that_has_not_started_is_late_after_its_start_grace(self) -> None:
        known = facts(self.SCHEDULE, self.RULES)
        expected = T + timedelta(hours=1)
        assert start_deadline(self.SCHEDULE, self.RULES, known.next_due_at) == expected + 5 * MINUTE
        early = evaluate(known, expected + 4 * MINUTE)
        assert early.action == Action.NOTHING
        assert early.check_at == expected + 5 * MINUTE
        late = evaluate(known, expected + 6 * MINUTE)
        assert late.action == Action.OPEN and late.problem is not None
        assert late.problem.kind == "not_started"
        assert "did not start by" in late.problem.reason
        assert "start grace 5 min" in late.problem.reason

    def test_a_started_run_has_the_grace_period_to_complete(self) -> None:
        expected = T + timedelta(hours=1)
        run = OpenRun("r1", expected + MINUTE)
        known = facts(self.SCHEDULE, self.RULES, open_runs=[run])
        assert evaluate(known, expected + 90 * MINUTE).action == Action.NOTHING
        assert evaluate(known, expected + 121 * MINUTE).action == Action.OPEN

    def test_a_missed_start_and_its_completion_deadline_count_once(self) -> None:
        known = facts(self.SCHEDULE, dataclasses.replace(self.RULES, alert_after_failures=2))
        expected = T + timedelta(hours=1)
        started_late = evaluate(known, expected + 6 * MINUTE)
        assert started_late.action == Action.PENDING
        assert started_late.consecutive_failures == 1
        assert evaluate(known, known.next_due_at + MINUTE).consecutive_failures == 1

    @settings(max_examples=150, deadline=None)
    @given(
        st.sampled_from(DST_ZONES),
        st.integers(1, 3599),
        INSTANTS,
    )
    def test_the_start_deadline_is_the_expected_fire_plus_start_grace_across_dst(
        self, zone: str, start_grace: int, beat: datetime
    ) -> None:
        schedule = Schedule(
            schedule_type="cron",
            cron_expression="30 2 * * *",
            timezone=zone,
            grace_period_seconds=3600,
        )
        rules = Rules(start_grace_seconds=start_grace)
        due = next_due_at(schedule, [beat], REGISTERED)
        deadline = start_deadline(schedule, rules, due)
        assert deadline is not None
        assert beat < deadline - timedelta(seconds=start_grace) == due - schedule.grace
        assert deadline < due
