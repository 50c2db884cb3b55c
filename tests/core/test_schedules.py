"""When does a service become late? Specification of `medic.core.schedules`.

All instants are aware; `next_due_at` and `next_cron_fire` answer in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medic.core.schedules import (
    Schedule,
    next_cron_fire,
    next_due_at,
    validate_schedule,
    window_start,
)

NEW_YORK = ZoneInfo("America/New_York")
REGISTERED = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def new_york(*args: int, fold: int = 0) -> datetime:
    """A New York wall time as a UTC instant.

    In UTC because (PEP 495) an ambiguous wall time never compares equal across zones.
    """
    return datetime(*args, tzinfo=NEW_YORK, fold=fold).astimezone(UTC)


def interval(minutes: int, threshold: int = 1, grace: int = 0) -> Schedule:
    return Schedule(
        schedule_type="interval",
        alert_interval_minutes=minutes,
        threshold=threshold,
        grace_period_seconds=grace,
    )


def cron(expression: str, timezone: str = "America/New_York", grace: int = 0) -> Schedule:
    return Schedule(
        schedule_type="cron",
        cron_expression=expression,
        timezone=timezone,
        grace_period_seconds=grace,
    )


# --------------------------------------------------------------------------- interval


class TestIntervalSchedule:
    def test_threshold_one_is_due_one_interval_plus_grace_after_the_last_beat(self) -> None:
        last = utc(2026, 5, 1, 12, 0)
        beats = [last, last - timedelta(minutes=3)]

        due = next_due_at(interval(10, grace=30), beats, REGISTERED)

        assert due == last + timedelta(minutes=10, seconds=30)

    def test_threshold_three_is_due_one_interval_after_the_third_newest_beat(self) -> None:
        beats = [utc(2026, 5, 1, 12, 9), utc(2026, 5, 1, 12, 5), utc(2026, 5, 1, 12, 2)]

        due = next_due_at(interval(10, threshold=3), beats, REGISTERED)

        # Once the 12:02 beat leaves the 10-minute window, only two beats remain.
        assert due == utc(2026, 5, 1, 12, 12)

    def test_threshold_three_ignores_beats_older_than_the_third_newest(self) -> None:
        beats = [
            utc(2026, 5, 1, 12, 9),
            utc(2026, 5, 1, 12, 5),
            utc(2026, 5, 1, 12, 2),
            utc(2026, 5, 1, 11, 0),
        ]

        assert next_due_at(interval(10, threshold=3), beats, REGISTERED) == utc(2026, 5, 1, 12, 12)

    def test_never_beaten_service_is_due_counted_from_registration(self) -> None:
        due = next_due_at(interval(15, grace=60), [], REGISTERED)

        assert due == REGISTERED + timedelta(minutes=15, seconds=60)

    def test_too_few_beats_for_the_threshold_counts_from_registration(self) -> None:
        beats = [REGISTERED + timedelta(minutes=1)]

        due = next_due_at(interval(15, threshold=2), beats, REGISTERED)

        assert due == REGISTERED + timedelta(minutes=15)

    def test_interval_is_the_default_schedule_type(self) -> None:
        assert Schedule().schedule_type == "interval"


# --------------------------------------------------------------------------- cron


class TestCronSchedule:
    def test_normal_next_fire_is_the_next_local_wall_time(self) -> None:
        after = new_york(2026, 6, 10, 8, 0)  # EDT, UTC-4

        fire = next_cron_fire("30 9 * * *", "America/New_York", after)

        assert fire == new_york(2026, 6, 10, 9, 30)
        assert fire == utc(2026, 6, 10, 13, 30)
        assert fire.tzinfo is UTC

    def test_next_fire_is_strictly_after_the_anchor(self) -> None:
        at_fire = new_york(2026, 6, 10, 9, 30)

        assert next_cron_fire("30 9 * * *", "America/New_York", at_fire) == new_york(
            2026, 6, 11, 9, 30
        )

    def test_anchor_in_another_timezone_is_the_same_instant(self) -> None:
        after = utc(2026, 6, 10, 12, 0)  # 08:00 EDT

        assert next_cron_fire("30 9 * * *", "America/New_York", after) == utc(2026, 6, 10, 13, 30)

    def test_a_fire_time_in_the_spring_forward_gap_is_skipped(self) -> None:
        # 2026-03-08 02:00 EST jumps to 03:00 EDT: 02:30 never happens that day.
        after = new_york(2026, 3, 7, 12, 0)

        fire = next_cron_fire("30 2 * * *", "America/New_York", after)

        assert fire == new_york(2026, 3, 9, 2, 30)
        assert fire.astimezone(NEW_YORK).utcoffset() == timedelta(hours=-4)  # EDT

    def test_hourly_cron_on_spring_forward_day_skips_only_the_missing_hour(self) -> None:
        after = new_york(2026, 3, 8, 1, 10)  # EST

        fire = next_cron_fire("0 * * * *", "America/New_York", after)

        assert fire == new_york(2026, 3, 8, 3, 0)  # 03:00 EDT, the next hour that exists
        assert fire == utc(2026, 3, 8, 7, 0)

    def test_the_repeated_fall_back_hour_fires_once(self) -> None:
        # 2026-11-01 02:00 EDT falls back to 01:00 EST: 01:30 happens twice on the wall.
        first = next_cron_fire("30 1 * * *", "America/New_York", new_york(2026, 10, 31, 12, 0))
        assert first == new_york(2026, 11, 1, 1, 30)  # 01:30 EDT
        assert first == utc(2026, 11, 1, 5, 30)

        after_first = next_cron_fire("30 1 * * *", "America/New_York", first)

        assert after_first != new_york(2026, 11, 1, 1, 30, fold=1)  # not 01:30 EST
        assert after_first == new_york(2026, 11, 2, 1, 30)  # 01:30 EST the next day
        assert after_first == utc(2026, 11, 2, 6, 30)

    def test_hourly_cron_skips_the_repeated_hour(self) -> None:
        after = new_york(2026, 11, 1, 1, 10)  # EDT, first pass through 01:xx

        fire = next_cron_fire("0 * * * *", "America/New_York", after)

        # 01:00 EST (fold=1) repeats 01:00 EDT, so the next fire is 02:00 EST.
        assert fire == new_york(2026, 11, 1, 2, 0)
        assert fire == utc(2026, 11, 1, 7, 0)

    def test_leap_day_cron_waits_for_the_next_leap_year(self) -> None:
        after = new_york(2027, 1, 1, 0, 0)

        fire = next_cron_fire("0 12 29 2 *", "America/New_York", after)

        assert fire.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2028, 2, 29, 12, 0)

    def test_next_due_at_is_the_first_fire_after_the_last_beat_plus_grace(self) -> None:
        last_beat = new_york(2026, 6, 10, 9, 31)

        due = next_due_at(cron("30 9 * * *", grace=300), [last_beat], REGISTERED)

        assert due == new_york(2026, 6, 11, 9, 35)

    def test_never_beaten_cron_service_is_due_at_the_first_fire_after_registration(
        self,
    ) -> None:
        registered = new_york(2026, 6, 10, 8, 0)

        due = next_due_at(cron("30 9 * * *", grace=60), [], registered)

        assert due == new_york(2026, 6, 10, 9, 31)

    def test_cron_timezone_is_honoured(self) -> None:
        after = utc(2026, 6, 10, 0, 0)

        fire = next_cron_fire("0 9 * * *", "Asia/Kolkata", after)  # UTC+05:30, no DST

        assert fire == utc(2026, 6, 10, 3, 30)


# --------------------------------------------------------------------------- window


class TestWindowSchedule:
    """Threshold 2 beats per 60-minute window, windows aligned to local midnight."""

    schedule = Schedule(schedule_type="window", alert_interval_minutes=60, threshold=2)

    def test_one_beat_in_the_current_window_is_due_at_the_window_end(self) -> None:
        beats = [utc(2026, 5, 1, 10, 20)]

        assert next_due_at(self.schedule, beats, REGISTERED) == utc(2026, 5, 1, 11, 0)

    def test_two_beats_in_the_current_window_are_due_at_the_next_window_end(self) -> None:
        beats = [utc(2026, 5, 1, 10, 40), utc(2026, 5, 1, 10, 20)]

        assert next_due_at(self.schedule, beats, REGISTERED) == utc(2026, 5, 1, 12, 0)

    def test_beats_from_the_previous_window_do_not_count(self) -> None:
        beats = [utc(2026, 5, 1, 10, 5), utc(2026, 5, 1, 9, 55)]

        assert next_due_at(self.schedule, beats, REGISTERED) == utc(2026, 5, 1, 11, 0)

    def test_grace_is_added_to_the_window_end(self) -> None:
        schedule = Schedule(
            schedule_type="window",
            alert_interval_minutes=60,
            threshold=2,
            grace_period_seconds=120,
        )

        due = next_due_at(schedule, [utc(2026, 5, 1, 10, 20)], REGISTERED)

        assert due == utc(2026, 5, 1, 11, 2)

    def test_never_beaten_service_is_due_at_the_end_of_its_registration_window(self) -> None:
        registered = utc(2026, 5, 1, 10, 20)

        assert next_due_at(self.schedule, [], registered) == utc(2026, 5, 1, 11, 0)

    def test_windows_are_aligned_to_local_midnight(self) -> None:
        schedule = Schedule(
            schedule_type="window",
            alert_interval_minutes=60,
            threshold=2,
            timezone="Asia/Kolkata",  # UTC+05:30
        )
        beat = utc(2026, 5, 1, 10, 20)  # 15:50 IST

        assert window_start(beat, schedule.interval, "Asia/Kolkata") == utc(2026, 5, 1, 9, 30)
        assert next_due_at(schedule, [beat], REGISTERED) == utc(2026, 5, 1, 10, 30)

    def test_the_last_window_of_a_day_is_cut_short_at_local_midnight(self) -> None:
        schedule = Schedule(schedule_type="window", alert_interval_minutes=7 * 60, threshold=2)
        beat = utc(2026, 5, 1, 22, 0)  # window 21:00-28:00 is cut at 24:00

        assert next_due_at(schedule, [beat], REGISTERED) == utc(2026, 5, 2, 0, 0)

    def test_a_beat_in_the_repeated_fall_back_hour_has_its_own_window(self) -> None:
        schedule = Schedule(
            schedule_type="window",
            alert_interval_minutes=60,
            threshold=2,
            timezone="America/New_York",
        )
        beat = new_york(2026, 11, 1, 1, 30, fold=1)  # 01:30 EST, the second 01:30

        assert window_start(beat, schedule.interval, schedule.timezone) == new_york(
            2026, 11, 1, 1, 0, fold=1
        )
        assert next_due_at(schedule, [beat], REGISTERED) == new_york(2026, 11, 1, 2, 0)
        assert next_due_at(schedule, [beat, beat], REGISTERED) == new_york(2026, 11, 1, 3, 0)

    def test_a_window_holds_its_beat_on_a_spring_forward_day(self) -> None:
        schedule = Schedule(
            schedule_type="window",
            alert_interval_minutes=70,
            threshold=2,
            timezone="America/New_York",
        )
        beat = new_york(2026, 3, 8, 3, 10)  # EDT, just after the gap

        start = window_start(beat, schedule.interval, schedule.timezone)

        assert start <= beat < next_due_at(schedule, [beat], REGISTERED)

    @pytest.mark.parametrize(
        "day",
        [date(2026, 6, 10), date(2026, 3, 8), date(2026, 11, 1)],
        ids=["24-hour-day", "23-hour-day", "25-hour-day"],
    )
    def test_a_daily_window_is_the_local_calendar_day(self, day: date) -> None:
        schedule = Schedule(
            schedule_type="window",
            alert_interval_minutes=24 * 60,
            threshold=1,
            timezone="America/New_York",
        )
        beat = new_york(day.year, day.month, day.day, 10, 0)
        tomorrow, day_after = day + timedelta(days=1), day + timedelta(days=2)

        assert window_start(beat, schedule.interval, schedule.timezone) == new_york(
            day.year, day.month, day.day, 0, 0
        )
        # Today's beat is enough for today: late only once tomorrow ends without one.
        assert next_due_at(schedule, [beat], REGISTERED) == new_york(
            day_after.year, day_after.month, day_after.day, 0, 0
        )
        unmet = Schedule(
            schedule_type="window",
            alert_interval_minutes=24 * 60,
            threshold=2,
            timezone="America/New_York",
        )
        assert next_due_at(unmet, [beat], REGISTERED) == new_york(
            tomorrow.year, tomorrow.month, tomorrow.day, 0, 0
        )


# --------------------------------------------------------------------------- validation


class TestValidateSchedule:
    @pytest.mark.parametrize(
        "schedule",
        [
            Schedule(),
            interval(5, threshold=3, grace=60),
            cron("*/5 * * * *"),
            cron("0 12 29 2 *"),
            Schedule(schedule_type="window", alert_interval_minutes=60, threshold=2),
        ],
    )
    def test_accepts_valid_schedules(self, schedule: Schedule) -> None:
        validate_schedule(schedule)

    @pytest.mark.parametrize(
        ("schedule", "message"),
        [
            (interval(0), "alert_interval"),
            (interval(-5), "alert_interval"),
            (interval(5, threshold=0), "threshold"),
            (interval(5, threshold=-1), "threshold"),
            (interval(5, grace=-1), "grace_period_seconds"),
            (cron("not a cron"), "cron_expression"),
            (cron("61 * * * *"), "cron_expression"),
            (cron("0 0 12 * * *"), "five fields"),
            (Schedule(schedule_type="cron"), "cron_expression is required"),
            (Schedule(schedule_type="hourly"), "schedule_type"),
            (cron("0 0 30 2 *"), "never comes"),
            (cron("0 0 31 4 *"), "never comes"),
        ],
        ids=[
            "interval-0",
            "interval-negative",
            "threshold-0",
            "threshold-negative",
            "grace-negative",
            "cron-garbage",
            "cron-out-of-range",
            "cron-six-fields",
            "cron-missing",
            "unknown-type",
            "february-30",
            "april-31",
        ],
    )
    def test_rejects_schedules_that_could_never_be_evaluated(
        self, schedule: Schedule, message: str
    ) -> None:
        with pytest.raises(ValueError, match=re.escape(message)):
            validate_schedule(schedule)


# --------------------------------------------------------------------------- properties

ZONES = (
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Auckland",
)
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2030, 12, 31, tzinfo=UTC)


def _transitions(zone_name: str) -> list[datetime]:
    """UTC instants in 2024-2030 at which `zone_name` changes its offset (to the minute)."""
    zone = ZoneInfo(zone_name)
    found = []
    day = START
    while day < END:
        nxt = day + timedelta(days=1)
        if day.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            low, high = day, nxt
            while high - low > timedelta(minutes=1):
                mid = low + (high - low) / 2
                if mid.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = mid
                else:
                    high = mid
            found.append(high.replace(second=0, microsecond=0))
        day = nxt
    return found


TRANSITIONS = {name: _transitions(name) for name in ZONES}


@st.composite
def zone_and_anchor(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and an aware instant, often within a day of one of the zone's DST transitions."""
    name = draw(st.sampled_from(ZONES))
    if TRANSITIONS[name] and draw(st.booleans()):
        transition = draw(st.sampled_from(TRANSITIONS[name]))
        offset = draw(st.integers(min_value=-26 * 60, max_value=26 * 60))
        instant = transition + timedelta(minutes=offset)
    else:
        instant = draw(
            st.datetimes(
                min_value=START.replace(tzinfo=None),
                max_value=END.replace(tzinfo=None),
                timezones=st.just(UTC),
            )
        )
    # Hand the anchor over in the zone's local time half of the time (this exercises fold=1).
    if draw(st.booleans()):
        instant = instant.astimezone(ZoneInfo(name))
    return name, instant


MINUTES = st.sampled_from(["*", "0", "30", "15", "*/15", "5,45", "0-10", "59"])
HOURS = st.sampled_from(["*", "0", "1", "2", "3", "12", "23", "1-3", "*/6", "2,14"])
DAYS = st.sampled_from(["*", "*", "*", "1", "15", "28", "29", "1-7"])
MONTHS = st.sampled_from(["*", "*", "*", "3", "10", "11", "4", "1-6"])
WEEKDAYS = st.sampled_from(["*", "*", "*", "0", "6", "1-5"])


@st.composite
def cron_expressions(draw: st.DrawFn) -> str:
    return " ".join(draw(field) for field in (MINUTES, HOURS, DAYS, MONTHS, WEEKDAYS))


def _field_values(spec: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in spec.split(","):
        if part == "*":
            values.update(range(low, high + 1))
        elif part.startswith("*/"):
            values.update(range(low, high + 1, int(part[2:])))
        elif "-" in part:
            first, last = part.split("-")
            values.update(range(int(first), int(last) + 1))
        else:
            values.add(int(part))
    return values


def wall_time_matches(expression: str, wall: datetime) -> bool:
    """An independent reading of the five cron fields (day-of-month OR day-of-week, as cron)."""
    minute, hour, dom, month, dow = expression.split()
    cron_weekday = (wall.weekday() + 1) % 7  # cron: 0 = Sunday
    day_ok_dom = wall.day in _field_values(dom, 1, 31)
    day_ok_dow = cron_weekday in _field_values(dow, 0, 6)
    both_restricted = dom != "*" and dow != "*"
    day_ok = (day_ok_dom or day_ok_dow) if both_restricted else (day_ok_dom and day_ok_dow)
    return (
        wall.second == 0
        and wall.microsecond == 0
        and wall.minute in _field_values(minute, 0, 59)
        and wall.hour in _field_values(hour, 0, 23)
        and wall.month in _field_values(month, 1, 12)
        and day_ok
    )


def is_repeat(local: datetime) -> bool:
    """The second pass through a repeated (fall-back) wall-clock time."""
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def exists(wall: datetime, zone: ZoneInfo) -> bool:
    """A naive wall time exists in `zone` (is not inside a spring-forward gap)."""
    aware = wall.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


class TestCronProperties:
    @settings(max_examples=300, deadline=None)
    @given(zone_and_anchor(), cron_expressions())
    def test_next_fire_is_a_real_non_repeated_matching_time_after_the_anchor(
        self, zone_anchor: tuple[str, datetime], expression: str
    ) -> None:
        name, anchor = zone_anchor
        zone = ZoneInfo(name)

        fire = next_cron_fire(expression, name, anchor)
        local = fire.astimezone(zone)

        assert fire.tzinfo is UTC
        assert fire > anchor
        assert wall_time_matches(expression, local.replace(tzinfo=None)), local.isoformat()
        assert not is_repeat(local), local.isoformat()

    @settings(max_examples=150, deadline=None)
    @given(zone_and_anchor())
    def test_every_minute_cron_fires_at_the_next_new_minute(
        self, zone_anchor: tuple[str, datetime]
    ) -> None:
        """No real minute is ever missed except the repeated fall-back ones."""
        name, anchor = zone_anchor
        zone = ZoneInfo(name)

        fire = next_cron_fire("* * * * *", name, anchor)

        candidate = anchor.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        while is_repeat(candidate.astimezone(zone)):
            candidate += timedelta(minutes=1)
        assert fire == candidate

    @settings(max_examples=150, deadline=None)
    @given(zone_and_anchor(), st.sampled_from(["30 2 * * *", "0 2 * * *", "15 1 * * *"]))
    def test_a_daily_cron_fires_on_the_first_later_day_where_its_time_exists(
        self, zone_anchor: tuple[str, datetime], expression: str
    ) -> None:
        name, anchor = zone_anchor
        zone = ZoneInfo(name)
        minute, hour = (int(v) for v in expression.split()[:2])

        fire = next_cron_fire(expression, name, anchor)

        day: date = anchor.astimezone(zone).date() - timedelta(days=1)
        while True:
            wall = datetime(day.year, day.month, day.day, hour, minute)
            first_pass = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
            if exists(wall, zone) and first_pass > anchor:
                break
            day += timedelta(days=1)
        assert fire == first_pass


# --------------------------------------------------------------------------- window properties

WINDOW_MINUTES = st.sampled_from([15, 30, 45, 60, 70, 90, 120, 7 * 60, 24 * 60])


def next_local_midnight(instant: datetime, zone: ZoneInfo) -> datetime:
    tomorrow = instant.astimezone(zone).date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone).astimezone(UTC)


class TestWindowProperties:
    @settings(max_examples=300, deadline=None)
    @given(zone_and_anchor(), WINDOW_MINUTES)
    def test_a_beat_lies_in_its_window_and_the_window_ends_by_local_midnight(
        self, zone_beat: tuple[str, datetime], minutes: int
    ) -> None:
        name, beat = zone_beat
        zone = ZoneInfo(name)
        schedule = Schedule(
            schedule_type="window", alert_interval_minutes=minutes, threshold=2, timezone=name
        )

        start = window_start(beat, schedule.interval, name)
        due = next_due_at(schedule, [beat], REGISTERED)

        assert start <= beat < due
        assert due <= next_local_midnight(beat, zone)
        assert start.astimezone(zone).date() == beat.astimezone(zone).date()

    @settings(max_examples=300, deadline=None)
    @given(zone_and_anchor(), WINDOW_MINUTES)
    def test_meeting_the_threshold_moves_the_deadline_to_the_following_window(
        self, zone_beat: tuple[str, datetime], minutes: int
    ) -> None:
        name, beat = zone_beat
        zone = ZoneInfo(name)
        schedule = Schedule(
            schedule_type="window", alert_interval_minutes=minutes, threshold=2, timezone=name
        )

        current_end = next_due_at(schedule, [beat], REGISTERED)
        due = next_due_at(schedule, [beat, beat], REGISTERED)

        assert current_end < due
        assert window_start(current_end, schedule.interval, name) == current_end
        assert due <= next_local_midnight(current_end, zone)


# --------------------------------------------------------------------------- interval properties

BEAT_TIMES = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


class TestIntervalProperties:
    @given(
        older=st.lists(BEAT_TIMES, max_size=6),
        newest=st.tuples(BEAT_TIMES, BEAT_TIMES),
        minutes=st.integers(min_value=1, max_value=7 * 24 * 60),
        threshold=st.integers(min_value=1, max_value=5),
        grace=st.integers(min_value=0, max_value=3600),
    )
    def test_next_due_at_never_moves_back_when_the_newest_beat_is_later(
        self,
        older: list[datetime],
        newest: tuple[datetime, datetime],
        minutes: int,
        threshold: int,
        grace: int,
    ) -> None:
        schedule = interval(minutes, threshold=threshold, grace=grace)
        rest = sorted(older, reverse=True)
        early, late = sorted(newest)
        if rest:
            early, late = max(early, rest[0]), max(late, rest[0])

        due_early = next_due_at(schedule, [early, *rest], REGISTERED)
        due_late = next_due_at(schedule, [late, *rest], REGISTERED)

        assert due_early <= due_late
        if threshold == 1:
            assert due_late - due_early == late - early

    @given(
        older=st.lists(BEAT_TIMES, max_size=6),
        new_beat=BEAT_TIMES,
        minutes=st.integers(min_value=1, max_value=7 * 24 * 60),
        threshold=st.integers(min_value=1, max_value=5),
    )
    def test_a_new_beat_never_makes_the_service_due_sooner(
        self, older: list[datetime], new_beat: datetime, minutes: int, threshold: int
    ) -> None:
        schedule = interval(minutes, threshold=threshold)
        before = sorted(older, reverse=True)
        after = sorted([new_beat, *older], reverse=True)
        registered = min([REGISTERED, *after])

        assert next_due_at(schedule, after, registered) >= next_due_at(schedule, before, registered)
