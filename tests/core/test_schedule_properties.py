"""Schedules across timezones and DST: properties of `medic.core.schedules`.

Cron fire times are checked against an independent reading of the five cron fields:
a cron fires at every local wall time that matches it and exists, once (at its first
occurrence when the clock falls back), and never at a wall time skipped by a spring-forward
gap. Deadlines (`following_deadline`, `deadlines_between`) always move forward.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medic.core.schedules import (
    Schedule,
    deadlines_between,
    following_deadline,
    next_cron_fire,
    next_due_at,
    window_start,
)

# Zones with DST of every shape: one hour, 30 minutes (Lord Howe), at local midnight
# (Santiago), at a quarter-hour offset (Chatham), and one that abolished it (Tehran).
DST_ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Europe/Berlin",
    "Asia/Tehran",
    "Pacific/Chatham",
)
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2028, 12, 31, tzinfo=UTC)
REGISTERED = datetime(2024, 1, 1, tzinfo=UTC)

CRONS = (
    "30 2 * * *",
    "0 * * * *",
    "*/15 1-3 * * *",
    "0 0 * * *",
    "30 1 * * *",
    "45 2 * * *",
    "15 23 * * *",
    "0 12 * * 1-5",
    "*/20 0-4 * * 0",
    "0 2 1 * *",
    "0 3 15 * 6",
    "0 0 29 2 *",
)
# Crons firing at most a few dozen times a day, to enumerate a two-day span fire by fire.
SPARSE_CRONS = tuple(c for c in CRONS if c != "0 0 29 2 *")


# --------------------------------------------------------------------------- helpers


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """UTC instants in 2024-2028 at which `zone_name` changes its offset (to the minute)."""
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
    return tuple(found)


ZONE_NAMES = st.one_of(
    st.sampled_from(DST_ZONES),
    # Not the "right/" zones: they count leap seconds, which Python's clock does not.
    st.timezones().map(str).filter(lambda name: not name.startswith(("right/", "localtime"))),
)


@st.composite
def zone_and_instant(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and an aware instant in 2024-2028, often within a day of a DST transition."""
    name = draw(ZONE_NAMES)
    changes = transitions(name)
    if changes and draw(st.booleans()):
        instant = draw(st.sampled_from(changes)) + timedelta(
            seconds=draw(st.integers(min_value=-26 * 3600, max_value=26 * 3600))
        )
    else:
        instant = draw(
            st.datetimes(
                min_value=START.replace(tzinfo=None),
                max_value=END.replace(tzinfo=None),
                timezones=st.just(UTC),
            )
        )
    if draw(st.booleans()):  # hand it over in local time (exercises fold=1)
        instant = instant.astimezone(ZoneInfo(name))
    return name, instant


@st.composite
def zone_and_transition(draw: st.DrawFn) -> tuple[str, datetime]:
    name = draw(st.sampled_from([z for z in DST_ZONES if transitions(z)]))
    return name, draw(st.sampled_from(transitions(name)))


def _values(spec: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in spec.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/")
            step = int(step_text)
        if part == "*":
            first, last = low, high
        elif "-" in part:
            first, last = (int(v) for v in part.split("-"))
        else:
            first = last = int(part)
        values.update(range(first, last + 1, step))
    return frozenset(values)


class CronReading:
    """An independent reading of the five cron fields (day of month OR day of week when
    both are restricted, as in cron)."""

    def __init__(self, expression: str) -> None:
        minute, hour, dom, month, dow = expression.split()
        self.minutes = sorted(_values(minute, 0, 59))
        self.hours = sorted(_values(hour, 0, 23))
        self.doms, self.months = _values(dom, 1, 31), _values(month, 1, 12)
        self.dows = {d % 7 for d in _values(dow, 0, 7)}
        self.either_day = dom != "*" and dow != "*"

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_dom = day.day in self.doms
        by_dow = (day.weekday() + 1) % 7 in self.dows  # cron: 0 = Sunday
        return (by_dom or by_dow) if self.either_day else (by_dom and by_dow)

    def matches(self, wall: datetime) -> bool:
        return (
            wall.second == 0
            and wall.microsecond == 0
            and wall.minute in self.minutes
            and wall.hour in self.hours
            and self.day_matches(wall.date())
        )

    def walls(self, first_day: date, last_day: date):  # type: ignore[no-untyped-def]
        """Matching naive wall times from `first_day` to `last_day`, in order."""
        day = first_day
        while day <= last_day:
            if self.day_matches(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        yield datetime(day.year, day.month, day.day, hour, minute)
            day += timedelta(days=1)


def exists(wall: datetime, zone: ZoneInfo) -> bool:
    """A naive wall time exists in `zone` (is not skipped by a spring-forward gap)."""
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def first_occurrence(wall: datetime, zone: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def is_repeat(local: datetime) -> bool:
    """The second pass through a repeated (fall-back) wall-clock time."""
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def expected_fire(expression: str, zone_name: str, after: datetime) -> datetime:
    """The first existing matching wall time whose first occurrence is after `after`."""
    zone = ZoneInfo(zone_name)
    first_day = after.astimezone(zone).date() - timedelta(days=1)
    for wall in CronReading(expression).walls(first_day, first_day + timedelta(days=9 * 366)):
        if exists(wall, zone) and first_occurrence(wall, zone) > after:
            return first_occurrence(wall, zone)
    raise AssertionError("no fire time in nine years")


def schedules(zone_name: str) -> st.SearchStrategy[Schedule]:
    grace = st.sampled_from([0, 0, 59, 300, 3600, 2 * 86400])
    return st.one_of(
        st.builds(
            Schedule,
            schedule_type=st.just("interval"),
            alert_interval_minutes=st.sampled_from([1, 7, 15, 60, 1440, 10_000]),
            threshold=st.integers(min_value=1, max_value=3),
            grace_period_seconds=grace,
        ),
        st.builds(
            Schedule,
            schedule_type=st.just("cron"),
            cron_expression=st.sampled_from(CRONS),
            timezone=st.just(zone_name),
            grace_period_seconds=grace,
        ),
        st.builds(
            Schedule,
            schedule_type=st.just("window"),
            alert_interval_minutes=st.sampled_from([15, 45, 60, 70, 90, 7 * 60, 24 * 60]),
            threshold=st.integers(min_value=1, max_value=3),
            timezone=st.just(zone_name),
            grace_period_seconds=grace,
        ),
    )


@st.composite
def schedule_and_deadline(draw: st.DrawFn) -> tuple[Schedule, datetime]:
    """A schedule and a real deadline of it: its `next_due_at` after some beats."""
    name, instant = draw(zone_and_instant())
    schedule = draw(schedules(name))
    beats = [instant] * draw(st.integers(min_value=0, max_value=schedule.threshold))
    return schedule, next_due_at(schedule, beats, min(instant, REGISTERED))


def next_local_midnight(instant: datetime, zone: ZoneInfo) -> datetime:
    tomorrow = instant.astimezone(zone).date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone).astimezone(UTC)


# --------------------------------------------------------------------------- next_cron_fire


class TestNextCronFire:
    @settings(max_examples=200, deadline=None)
    @given(zone_and_instant(), st.sampled_from(CRONS))
    def test_fire_is_after_the_anchor_matches_the_local_wall_time_and_is_no_repeat(
        self, zone_anchor: tuple[str, datetime], expression: str
    ) -> None:
        name, anchor = zone_anchor
        zone = ZoneInfo(name)

        fire = next_cron_fire(expression, name, anchor)
        local = fire.astimezone(zone)

        assert fire.tzinfo is UTC
        assert fire > anchor
        assert CronReading(expression).matches(local.replace(tzinfo=None)), local.isoformat()
        assert not is_repeat(local), local.isoformat()

    @settings(max_examples=200, deadline=None)
    @given(zone_and_instant(), st.sampled_from(CRONS))
    def test_fire_is_the_first_existing_matching_wall_time_after_the_anchor(
        self, zone_anchor: tuple[str, datetime], expression: str
    ) -> None:
        """Nothing is skipped but wall times in a DST gap and second passes of a repeat."""
        name, anchor = zone_anchor

        assert next_cron_fire(expression, name, anchor) == expected_fire(expression, name, anchor)

    @settings(max_examples=100, deadline=None)
    @given(zone_and_transition(), st.sampled_from(SPARSE_CRONS))
    def test_around_a_dst_transition_each_existing_wall_time_fires_exactly_once(
        self, zone_change: tuple[str, datetime], expression: str
    ) -> None:
        name, change = zone_change
        zone = ZoneInfo(name)
        start, end = change - timedelta(days=1), change + timedelta(days=1)

        fires = []
        fire = next_cron_fire(expression, name, start)
        while fire <= end:
            fires.append(fire)
            fire = next_cron_fire(expression, name, fire)

        walls = [f.astimezone(zone).replace(tzinfo=None) for f in fires]
        first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        expected = [
            first_occurrence(wall, zone)
            for wall in CronReading(expression).walls(first, last)
            if exists(wall, zone) and start < first_occurrence(wall, zone) <= end
        ]
        assert fires == expected
        assert walls == sorted(set(walls)), "a wall time fired twice"

    @pytest.mark.parametrize("zone", ["UTC", *DST_ZONES])
    def test_leap_day_cron_fires_only_on_february_29(self, zone: str) -> None:
        local = ZoneInfo(zone)
        after = datetime(2025, 3, 1, tzinfo=local)

        fire = next_cron_fire("0 0 29 2 *", zone, after)

        assert fire.astimezone(local).replace(tzinfo=None) == datetime(2028, 2, 29, 0, 0)
        assert next_cron_fire("0 0 29 2 *", zone, fire).astimezone(local).replace(
            tzinfo=None
        ) == datetime(2032, 2, 29, 0, 0)

    @settings(max_examples=50, deadline=None)
    @given(zone_and_instant())
    def test_leap_day_cron_property(self, zone_anchor: tuple[str, datetime]) -> None:
        name, anchor = zone_anchor

        local = next_cron_fire("0 0 29 2 *", name, anchor).astimezone(ZoneInfo(name))

        assert (local.month, local.day, local.hour, local.minute) == (2, 29, 0, 0)
        assert local.year % 4 == 0

    @pytest.mark.parametrize(
        ("zone", "after", "expected_local"),
        [
            # Santiago springs forward at local midnight: 2024-09-08 has no 00:00.
            ("America/Santiago", utc(2024, 9, 7, 12), datetime(2024, 9, 9, 0, 0)),
            # Chatham springs forward 02:45 -> 03:45: 03:00 is skipped on 2024-09-29.
            ("Pacific/Chatham", utc(2024, 9, 28, 0), datetime(2024, 9, 30, 3, 0)),
            # Lord Howe springs forward 02:00 -> 02:30: 02:15 is skipped, 02:45 is not.
            ("Australia/Lord_Howe", utc(2024, 10, 5, 6), datetime(2024, 10, 7, 2, 15)),
        ],
        ids=["santiago-midnight", "chatham-quarter-hour", "lord-howe-half-hour"],
    )
    def test_fire_times_in_unusual_dst_gaps_are_skipped(
        self, zone: str, after: datetime, expected_local: datetime
    ) -> None:
        expression = f"{expected_local.minute} {expected_local.hour} * * *"

        fire = next_cron_fire(expression, zone, after)

        assert fire.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == expected_local

    def test_lord_howe_repeated_half_hour_fires_once(self) -> None:
        # 2025-04-06 02:00 (+11) falls back to 01:30 (+10:30): 01:30-01:59 happens twice.
        zone = ZoneInfo("Australia/Lord_Howe")
        first = next_cron_fire("45 1 * * *", "Australia/Lord_Howe", utc(2025, 4, 5, 0))

        assert first == datetime(2025, 4, 6, 1, 45, tzinfo=zone).astimezone(UTC)
        assert first.astimezone(zone).utcoffset() == timedelta(hours=11)
        following = next_cron_fire("45 1 * * *", "Australia/Lord_Howe", first)
        assert following.astimezone(zone).replace(tzinfo=None) == datetime(2025, 4, 7, 1, 45)


# --------------------------------------------------------------------------- deadlines


class TestDeadlines:
    @settings(max_examples=200, deadline=None)
    @given(schedule_and_deadline())
    def test_following_deadline_is_strictly_increasing(
        self, schedule_deadline: tuple[Schedule, datetime]
    ) -> None:
        schedule, deadline = schedule_deadline

        for _ in range(30):
            following = following_deadline(schedule, deadline)
            assert following > deadline
            deadline = following

    @settings(max_examples=150, deadline=None)
    @given(schedule_and_deadline(), st.integers(min_value=0, max_value=3 * 86400))
    def test_deadlines_between_are_the_following_deadlines_up_to_until(
        self, schedule_deadline: tuple[Schedule, datetime], seconds: int
    ) -> None:
        schedule, after = schedule_deadline
        until = after + timedelta(seconds=seconds)

        found = deadlines_between(schedule, after, until)

        assert all(after < d <= until for d in found)
        assert found == sorted(set(found))
        expected, deadline = [], following_deadline(schedule, after)
        while deadline <= until and len(expected) < 1000:  # the documented default limit
            expected.append(deadline)
            deadline = following_deadline(schedule, deadline)
        assert found == expected

    @settings(max_examples=100, deadline=None)
    @given(
        schedule_and_deadline(),
        st.integers(min_value=0, max_value=3 * 86400),
        st.integers(min_value=0, max_value=5),
    )
    def test_deadlines_between_stops_at_the_limit(
        self, schedule_deadline: tuple[Schedule, datetime], seconds: int, limit: int
    ) -> None:
        schedule, after = schedule_deadline
        until = after + timedelta(seconds=seconds)

        capped = deadlines_between(schedule, after, until, limit=limit)

        assert capped == deadlines_between(schedule, after, until)[:limit]

    @settings(max_examples=100, deadline=None)
    @given(schedule_and_deadline(), st.integers(min_value=0, max_value=3 * 86400))
    def test_deadlines_between_splits_at_any_deadline(
        self, schedule_deadline: tuple[Schedule, datetime], seconds: int
    ) -> None:
        """Counting up to one deadline, then on from it, counts each deadline once."""
        schedule, after = schedule_deadline
        until = after + timedelta(seconds=seconds)
        whole = deadlines_between(schedule, after, until, limit=10**6)

        for cut in {*whole[:3], *whole[len(whole) // 2 :][:1], *whole[-2:]}:
            assert whole == [
                *deadlines_between(schedule, after, cut, limit=10**6),
                *deadlines_between(schedule, cut, until, limit=10**6),
            ]

    def test_no_deadline_between_an_instant_and_itself(self) -> None:
        schedule = Schedule(alert_interval_minutes=5)
        at = utc(2026, 1, 1)

        assert deadlines_between(schedule, at, at) == []
        assert deadlines_between(schedule, at, at - timedelta(hours=1)) == []

    @settings(max_examples=150, deadline=None)
    @given(zone_and_instant(), st.sampled_from([15, 45, 60, 70, 90, 7 * 60, 24 * 60]))
    def test_window_deadlines_are_window_starts_and_every_local_midnight_is_one(
        self, zone_instant: tuple[str, datetime], minutes: int
    ) -> None:
        name, instant = zone_instant
        zone = ZoneInfo(name)
        schedule = Schedule(schedule_type="window", alert_interval_minutes=minutes, timezone=name)
        first = next_due_at(schedule, [], instant)
        until = first + timedelta(days=2)

        deadlines = [first, *deadlines_between(schedule, first, until)]

        for deadline in deadlines:
            assert window_start(deadline, schedule.interval, name) == deadline
        for earlier, later in pairwise(deadlines):
            assert later - earlier <= schedule.interval + timedelta(hours=3)
            midnight = next_local_midnight(earlier, zone)
            assert later <= midnight  # a window never crosses local midnight
            if midnight <= until:
                assert midnight in deadlines

    @settings(max_examples=150, deadline=None)
    @given(zone_and_instant(), st.sampled_from(CRONS), st.sampled_from([0, 60, 3600]))
    def test_cron_deadlines_are_the_fire_times_plus_grace(
        self, zone_instant: tuple[str, datetime], expression: str, grace: int
    ) -> None:
        name, instant = zone_instant
        schedule = Schedule(
            schedule_type="cron",
            cron_expression=expression,
            timezone=name,
            grace_period_seconds=grace,
        )
        first = next_due_at(schedule, [instant], REGISTERED)

        following = following_deadline(schedule, first)

        assert first == expected_fire(expression, name, instant) + schedule.grace
        assert following == expected_fire(expression, name, first - schedule.grace) + (
            schedule.grace
        )
