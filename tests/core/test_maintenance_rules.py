"""Is a maintenance window open, and when does it next open or close?
Specification of `medic.core.maintenance` (pure: no database, no clock).

All instants are aware; occurrences and transitions are answered in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from medic.core.maintenance import WindowRule, covers, next_transition, occurrence_at

NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def new_york(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK, fold=fold).astimezone(UTC)


def one_time(start: datetime, end: datetime, services: tuple[int, ...] | None = None) -> WindowRule:
    return WindowRule(starts_at=start, ends_at=end, service_ids=services)


def recurring(
    expression: str,
    minutes: int,
    timezone: str = "America/New_York",
    services: tuple[int, ...] | None = None,
) -> WindowRule:
    return WindowRule(
        cron_expression=expression,
        duration_minutes=minutes,
        timezone=timezone,
        service_ids=services,
    )


# --------------------------------------------------------------------------- one-time


class TestOneTime:
    rule = one_time(utc(2026, 12, 1, 2), utc(2026, 12, 1, 4))

    def test_closed_before_the_start(self) -> None:
        now = utc(2026, 12, 1, 1, 59)
        assert occurrence_at(self.rule, now) is None
        assert next_transition(self.rule, now) == utc(2026, 12, 1, 2)

    def test_the_start_is_inclusive(self) -> None:
        now = utc(2026, 12, 1, 2)
        assert occurrence_at(self.rule, now) == (utc(2026, 12, 1, 2), utc(2026, 12, 1, 4))
        assert next_transition(self.rule, now) == utc(2026, 12, 1, 4)

    def test_open_inside(self) -> None:
        now = utc(2026, 12, 1, 3, 59, 59)
        assert occurrence_at(self.rule, now) == (utc(2026, 12, 1, 2), utc(2026, 12, 1, 4))
        assert next_transition(self.rule, now) == utc(2026, 12, 1, 4)

    def test_the_end_is_exclusive_and_then_it_never_changes_again(self) -> None:
        for now in (utc(2026, 12, 1, 4), utc(2027, 1, 1)):
            assert occurrence_at(self.rule, now) is None
            assert next_transition(self.rule, now) is None

    def test_not_recurring(self) -> None:
        assert not self.rule.recurring


# --------------------------------------------------------------------------- recurring


class TestRecurring:
    sunday_night = recurring("0 2 * * 0", 120)  # Sundays 02:00-04:00 New York

    def test_opens_at_each_fire_in_the_zone_and_stays_open_for_the_duration(self) -> None:
        fire = new_york(2026, 12, 6, 2)  # a Sunday, EST: 07:00 UTC
        assert fire == utc(2026, 12, 6, 7)
        assert occurrence_at(self.sunday_night, fire) == (fire, fire + timedelta(hours=2))
        inside = fire + timedelta(minutes=119, seconds=59)
        assert occurrence_at(self.sunday_night, inside) == (fire, fire + timedelta(hours=2))
        assert next_transition(self.sunday_night, inside) == fire + timedelta(hours=2)

    def test_closed_between_occurrences_and_next_opens_at_the_next_fire(self) -> None:
        now = new_york(2026, 12, 6, 4)  # the end is exclusive
        assert occurrence_at(self.sunday_night, now) is None
        assert next_transition(self.sunday_night, now) == new_york(2026, 12, 13, 2)
        just_before = new_york(2026, 12, 6, 1, 59)
        assert occurrence_at(self.sunday_night, just_before) is None
        assert next_transition(self.sunday_night, just_before) == new_york(2026, 12, 6, 2)

    def test_an_occurrence_may_run_past_midnight(self) -> None:
        rule = recurring("0 23 * * *", 180, "UTC")
        now = utc(2026, 12, 2, 1, 30)
        assert occurrence_at(rule, now) == (utc(2026, 12, 1, 23), utc(2026, 12, 2, 2))

    def test_the_timezone_moves_the_utc_instant(self) -> None:
        tokyo = recurring("0 9 * * *", 30, "Asia/Tokyo")
        assert occurrence_at(tokyo, utc(2026, 12, 1, 0, 10)) is not None  # 09:10 JST
        assert next_transition(tokyo, utc(2026, 12, 1, 1)) == utc(2026, 12, 2, 0)  # 09:00 JST

    def test_the_daily_fire_follows_dst_both_ways(self) -> None:
        """01:30 New York is 06:30 UTC in winter and 05:30 UTC in summer."""
        rule = recurring("30 1 * * *", 30)
        # Spring forward 2027-03-14 (02:00 EST -> 03:00 EDT); 01:30 still exists (EST).
        assert next_transition(rule, utc(2027, 3, 13, 12)) == utc(2027, 3, 14, 6, 30)
        assert next_transition(rule, utc(2027, 3, 14, 6, 45)) == utc(2027, 3, 14, 7)
        assert next_transition(rule, utc(2027, 3, 14, 7)) == utc(2027, 3, 15, 5, 30)

    def test_a_repeated_hour_opens_once(self) -> None:
        """Fall back 2026-11-01: 01:30 happens twice; the window opens at the first."""
        rule = recurring("30 1 * * *", 30)
        first = new_york(2026, 11, 1, 1, 30)  # EDT, 05:30 UTC
        second = new_york(2026, 11, 1, 1, 30, fold=1)  # EST, 06:30 UTC
        assert first == utc(2026, 11, 1, 5, 30)
        assert second == utc(2026, 11, 1, 6, 30)
        assert occurrence_at(rule, first) == (first, first + timedelta(minutes=30))
        assert occurrence_at(rule, second) is None
        assert next_transition(rule, first + timedelta(minutes=30)) == utc(2026, 11, 2, 6, 30)

    def test_a_fire_in_a_dst_gap_is_skipped(self) -> None:
        """02:30 does not exist on 2027-03-14 in New York: no occurrence that day."""
        rule = recurring("30 2 * * *", 30)
        assert next_transition(rule, utc(2027, 3, 13, 12)) == new_york(2027, 3, 15, 2, 30)
        assert occurrence_at(rule, utc(2027, 3, 14, 7, 45)) is None  # 03:45 EDT

    def test_a_duration_is_elapsed_time_across_a_dst_change(self) -> None:
        """Opening 00:00 EST for 4 h on spring-forward day closes at 05:00 EDT (4 real hours)."""
        rule = recurring("0 0 * * *", 240)
        start = new_york(2027, 3, 14, 0)
        assert occurrence_at(rule, start + timedelta(hours=3)) == (
            start,
            start + timedelta(hours=4),
        )
        assert (start + timedelta(hours=4)) == new_york(2027, 3, 14, 5)

    def test_leap_day_cron_opens_only_on_the_29th_of_february(self) -> None:
        rule = recurring("0 0 29 2 *", 24 * 60, "UTC")
        assert next_transition(rule, utc(2026, 11, 23)) == utc(2028, 2, 29)
        assert occurrence_at(rule, utc(2028, 2, 29, 12)) == (utc(2028, 2, 29), utc(2028, 3, 1))
        assert next_transition(rule, utc(2028, 2, 29, 12)) == utc(2028, 3, 1)
        assert next_transition(rule, utc(2028, 3, 1)) == utc(2032, 2, 29)
        assert occurrence_at(rule, utc(2027, 3, 1)) is None

    def test_leap_day_cron_in_a_zone(self) -> None:
        rule = recurring("0 0 29 2 *", 60, "Pacific/Auckland")
        # Midnight 29 Feb 2028 in Auckland (NZDT, +13) is 11:00 UTC on the 28th.
        assert next_transition(rule, utc(2026, 11, 23)) == utc(2028, 2, 28, 11)

    def test_back_to_back_occurrences_are_open_at_the_boundary(self) -> None:
        """Daily 24 h occurrences: at midnight one closes and the next opens; open."""
        rule = recurring("0 0 * * *", 24 * 60, "UTC")
        midnight = utc(2026, 11, 24)
        assert occurrence_at(rule, midnight) == (midnight, midnight + timedelta(days=1))
        assert next_transition(rule, midnight) == midnight + timedelta(days=1)

    def test_overlapping_occurrences_are_open_where_any_is_open(self) -> None:
        rule = recurring("*/10 * * * *", 30, "UTC")
        now = utc(2026, 11, 24, 0, 30)  # occurrences from 00:10, 00:20 and 00:30 are open
        assert occurrence_at(rule, now) is not None


class TestCovers:
    def test_listed_services_only(self) -> None:
        rule = one_time(utc(2026, 12, 1), utc(2026, 12, 2), services=(3, 5))
        assert covers(rule, 3, utc(2026, 12, 1, 12))
        assert not covers(rule, 4, utc(2026, 12, 1, 12))
        assert not covers(rule, 3, utc(2026, 12, 2))

    def test_no_list_means_every_service(self) -> None:
        rule = recurring("0 2 * * *", 60, "UTC")
        assert covers(rule, 123456, utc(2026, 12, 1, 2, 30))
        assert not covers(rule, 123456, utc(2026, 12, 1, 3, 30))


# --------------------------------------------------------------------------- properties

ZONES = (
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "America/St_Johns",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
)
# (cron, longest duration in minutes that never reaches the next fire in any zone above:
# with a DST change the gap between two fires can shrink by at most an hour).
CRONS = (
    ("0 * * * *", 59),
    ("*/15 * * * *", 14),
    ("30 1 * * *", 22 * 60),
    ("0 2 * * *", 22 * 60),
    ("0 0 * * 0", 6 * 24 * 60),
    ("15 3 1 * *", 27 * 24 * 60),
    ("0 0 29 2 *", 24 * 60),
)
INSTANTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@st.composite
def zone_name(draw: st.DrawFn) -> str:
    """A zone from the list above (DST both hemispheres, 30/45-minute offsets) or any
    zone hypothesis knows."""
    if draw(st.booleans()):
        return draw(st.sampled_from(ZONES))
    zone = draw(st.timezones())
    return getattr(zone, "key", None) or "UTC"


@st.composite
def rule_and_instant(draw: st.DrawFn) -> tuple[WindowRule, datetime]:
    if draw(st.booleans()):
        start = draw(INSTANTS)
        length = draw(st.integers(min_value=1, max_value=31 * 24 * 60))
        rule = one_time(start, start + timedelta(minutes=length))
        # Often near the window's edges.
        anchor = draw(st.sampled_from([start, start + timedelta(minutes=length)]))
    else:
        expression, longest = draw(st.sampled_from(CRONS))
        rule = recurring(
            expression, draw(st.integers(min_value=1, max_value=longest)), draw(zone_name())
        )
        # Whole minutes often: fires and occurrence ends fall on them.
        anchor = draw(
            st.one_of(INSTANTS, INSTANTS.map(lambda d: d.replace(second=0, microsecond=0)))
        )
    offset = draw(
        st.one_of(
            st.integers(min_value=-3 * 86400, max_value=3 * 86400).map(
                lambda s: timedelta(seconds=s)
            ),
            st.integers(min_value=-(10**6), max_value=10**6).map(
                lambda us: timedelta(microseconds=us)
            ),
        )
    )
    return rule, anchor + offset


def _matches(rule: WindowRule, instant: datetime) -> bool:
    local = instant.astimezone(ZoneInfo(rule.timezone)).replace(tzinfo=None)
    return croniter.match(rule.cron_expression or "", local)


class TestProperties:
    @settings(max_examples=400, deadline=None)
    @given(rule_and_instant())
    def test_an_occurrence_contains_the_instant_and_lasts_the_duration(
        self, case: tuple[WindowRule, datetime]
    ) -> None:
        rule, now = case
        occurrence = occurrence_at(rule, now)
        if occurrence is None:
            return
        start, end = occurrence
        assert start <= now < end
        if rule.recurring:
            assert end - start == rule.duration
            assert _matches(rule, start), start.isoformat()
        else:
            assert (start, end) == (rule.starts_at, rule.ends_at)

    @settings(max_examples=400, deadline=None)
    @given(rule_and_instant())
    def test_the_next_transition_is_strictly_later_and_nothing_changes_before_it(
        self, case: tuple[WindowRule, datetime]
    ) -> None:
        rule, now = case
        transition = next_transition(rule, now)
        open_now = occurrence_at(rule, now) is not None
        if transition is None:
            assert not rule.recurring and not open_now
            assert occurrence_at(rule, now + timedelta(days=400)) is None
            return
        assert transition > now
        # Open-or-closed is the same until just before the transition, and flips at it.
        assert (occurrence_at(rule, now + (transition - now) / 2) is not None) == open_now
        assert (occurrence_at(rule, transition - timedelta(microseconds=1)) is not None) == (
            open_now
        )
        assert (occurrence_at(rule, transition) is not None) != open_now

    @settings(max_examples=200, deadline=None)
    @given(rule_and_instant())
    def test_a_recurring_window_opens_at_its_next_transition_when_closed(
        self, case: tuple[WindowRule, datetime]
    ) -> None:
        rule, now = case
        if not rule.recurring or occurrence_at(rule, now) is not None:
            return
        transition = next_transition(rule, now)
        assert transition is not None
        assert _matches(rule, transition)
        assert occurrence_at(rule, transition) == (transition, transition + rule.duration)

    @settings(max_examples=200, deadline=None)
    @given(zone_name(), INSTANTS)
    def test_leap_day_cron_opens_on_a_29th_of_february_in_any_zone(
        self, zone: str, now: datetime
    ) -> None:
        rule = recurring("0 0 29 2 *", 60, zone)
        transition = next_transition(rule, now)
        assert transition is not None and transition > now
        local = transition.astimezone(ZoneInfo(zone))
        if occurrence_at(rule, now) is None:
            assert (local.month, local.day, local.hour, local.minute) == (2, 29, 0, 0)
            assert transition - now <= timedelta(days=8 * 366 + 1)
