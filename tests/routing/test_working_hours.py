"""Working hours and routing rules (SRE-10, SRE-12), as pure functions, then the
preview API that shows the same decision for a service.

Business hours here are Mon-Fri 09:00-18:00 America/New_York with US holidays. New
York left DST on Sunday 2026-11-01 (UTC-4 -> UTC-5) and enters it on Sunday
2027-03-14 (UTC-5 -> UTC-4): 10:00 local is a different UTC hour on each side, and
is working time on both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from medic.core.routing import Plan, RoutingRule, plan
from medic.core.working_hours import (
    WorkingHoursRule,
    is_working_time,
    parse_clock,
    parse_days,
)
from tests.routing.helpers import BUSINESS, Api

NEW_YORK = "America/New_York"


def schedule(
    days: str = "mon-fri", start: str = "09:00", end: str = "18:00", **kw: Any
) -> WorkingHoursRule:
    return WorkingHoursRule(
        timezone=kw.pop("timezone", NEW_YORK),
        days=parse_days(days.split(",")),
        start=parse_clock(start),
        end=parse_clock(end),
        **kw,
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


BUSINESS_HOURS = schedule(holidays_country="US")


@pytest.mark.parametrize(
    ("local", "working"),
    [
        # Friday before the November change (EDT, UTC-4) and Monday after it (EST, UTC-5).
        ("2026-10-30T10:00:00-04:00", True),
        ("2026-10-30T23:00:00-04:00", False),
        ("2026-11-02T10:00:00-05:00", True),
        ("2026-11-02T23:00:00-05:00", False),
        # Friday before the March change (EST, UTC-5) and Monday after it (EDT, UTC-4).
        ("2027-03-12T10:00:00-05:00", True),
        ("2027-03-12T23:00:00-05:00", False),
        ("2027-03-15T10:00:00-04:00", True),
        ("2027-03-15T23:00:00-04:00", False),
        # The edges: the start is inside, the end is not.
        ("2027-03-15T09:00:00-04:00", True),
        ("2027-03-15T08:59:00-04:00", False),
        ("2027-03-15T18:00:00-04:00", False),
        ("2027-03-15T17:59:59-04:00", True),
        # The weekend of each change.
        ("2026-11-01T10:00:00-05:00", False),
        ("2027-03-14T10:00:00-04:00", False),
    ],
)
def test_business_hours_follow_the_wall_clock_across_dst(local: str, working: bool) -> None:
    assert is_working_time(BUSINESS_HOURS, utc(local)) is working


def test_the_same_utc_time_is_before_hours_in_winter_and_inside_in_summer() -> None:
    assert is_working_time(BUSINESS_HOURS, utc("2027-03-12T13:30:00+00:00")) is False  # 08:30
    assert is_working_time(BUSINESS_HOURS, utc("2027-03-15T13:30:00+00:00")) is True  # 09:30


def test_a_span_inside_the_skipped_and_repeated_hours() -> None:
    night = schedule("mon-sun", "01:00", "02:00")
    # 2026-11-01: 01:30 happens twice (EDT, then EST); both are inside.
    assert is_working_time(night, utc("2026-11-01T05:30:00+00:00"))
    assert is_working_time(night, utc("2026-11-01T06:30:00+00:00"))
    assert not is_working_time(night, utc("2026-11-01T07:30:00+00:00"))  # 02:30 EST
    # 2027-03-14: 02:00-03:00 does not exist; 01:59 EST is inside, 03:00 EDT is not.
    assert is_working_time(night, utc("2027-03-14T06:59:00+00:00"))
    assert not is_working_time(night, utc("2027-03-14T07:00:00+00:00"))


def test_a_holiday_is_after_hours_all_day() -> None:
    assert date(2026, 12, 25).weekday() == 4  # a Friday
    christmas = utc("2026-12-25T10:00:00-05:00")
    assert is_working_time(BUSINESS_HOURS, christmas) is False
    assert is_working_time(schedule(), christmas) is True  # no holiday calendar
    assert is_working_time(BUSINESS_HOURS, utc("2026-12-28T10:00:00-05:00")) is True


def test_a_subdivision_adds_its_own_holidays() -> None:
    # Cesar Chavez Day, 2027-03-31 (a Wednesday), is a California state holiday.
    day = utc("2027-03-31T10:00:00-07:00")
    california = schedule(timezone="America/Los_Angeles", holidays_country="US")
    assert is_working_time(california, day) is True
    with_state = schedule(
        timezone="America/Los_Angeles", holidays_country="US", holidays_subdivision="CA"
    )
    assert is_working_time(with_state, day) is False


def test_the_leap_day_is_an_ordinary_tuesday() -> None:
    assert date(2028, 2, 29).weekday() == 1
    assert is_working_time(BUSINESS_HOURS, utc("2028-02-29T10:00:00-05:00")) is True
    assert is_working_time(BUSINESS_HOURS, utc("2028-02-29T23:00:00-05:00")) is False
    tuesdays = schedule("tue", "22:00", "06:00")
    assert is_working_time(tuesdays, utc("2028-03-01T03:00:00-05:00")) is True


@pytest.mark.parametrize(
    ("local", "working"),
    [
        ("2027-03-12T23:00:00-05:00", True),  # Friday night
        ("2027-03-13T03:00:00-05:00", True),  # early Saturday: still Friday's shift
        ("2027-03-13T06:00:00-05:00", False),  # the shift ended
        ("2027-03-15T03:00:00-04:00", False),  # early Monday: Sunday's shift, none
        ("2027-03-15T22:30:00-04:00", True),  # Monday night
        ("2027-03-15T21:59:00-04:00", False),
    ],
)
def test_an_overnight_span_belongs_to_the_day_it_starts(local: str, working: bool) -> None:
    assert is_working_time(schedule("mon-fri", "22:00", "06:00"), utc(local)) is working


def test_days_and_clocks_are_parsed_strictly() -> None:
    assert parse_days(["fri-mon"]) == ("mon", "fri", "sat", "sun")
    assert parse_days(["WED", "mon-tue"]) == ("mon", "tue", "wed")
    for bad in (["weekdays"], ["mon-funday"], []):
        with pytest.raises(ValueError):
            parse_days(bad)
    assert parse_clock("00:00").hour == 0
    for bad in ("24:00", "9:00", "09:60", "0900"):
        with pytest.raises(ValueError):
            parse_clock(bad)


# --- routing rules ----------------------------------------------------------------


def rules(*documents: dict[str, Any]) -> list[RoutingRule]:
    return [RoutingRule.of(d) for d in documents]


def hours_named(name: str) -> WorkingHoursRule | None:
    return BUSINESS_HOURS if name == "business" else None


DAY = utc("2027-03-15T10:00:00-04:00")
NIGHT = utc("2027-03-15T23:00:00-04:00")
OFFICE = rules(
    {"targets": ["pager"], "priorities": ["p1", "p2"]},
    {"targets": ["team-chat"], "hours": "during", "working_hours": "business"},
    {"targets": ["oncall-chat", "pager"], "hours": "after", "working_hours": "business"},
)


@pytest.mark.parametrize(
    ("priority", "instant", "targets"),
    [
        ("p1", DAY, ("pager", "team-chat")),
        ("p3", DAY, ("team-chat",)),
        ("p1", NIGHT, ("pager", "oncall-chat")),  # pager once, where it first appears
        ("p5", NIGHT, ("oncall-chat", "pager")),
    ],
)
def test_rules_match_on_priority_and_hours(
    priority: str, instant: datetime, targets: tuple[str, ...]
) -> None:
    assert plan("all", OFFICE, priority, instant, hours_named) == Plan("all", targets)


def test_first_success_keeps_the_rule_order() -> None:
    ordered = rules({"targets": ["pager", "webhook"]}, {"targets": ["email", "pager"]})
    result = plan("first_success", ordered, "p3", DAY, hours_named)
    assert result == Plan("first_success", ("pager", "webhook", "email"))


def test_no_matching_rule_is_an_empty_plan() -> None:
    only_p1 = rules({"targets": ["pager"], "priorities": ["p1"]})
    assert plan("all", only_p1, "p4", DAY, hours_named).targets == ()


def test_a_rule_whose_schedule_is_gone_still_alerts() -> None:
    orphan = rules({"targets": ["pager"], "hours": "after", "working_hours": "deleted"})
    assert plan("all", orphan, "p3", DAY, hours_named).targets == ("pager",)


# --- the preview API --------------------------------------------------------------


@pytest.fixture
def office_service(api: Api, register: Callable[..., dict[str, Any]]) -> int:
    api.create("notification-targets", {"name": "team-chat", "kind": "slack"})
    api.create("notification-targets", {"name": "pager", "kind": "pagerduty"})
    api.create("working-hours", BUSINESS)
    api.create(
        "routing-policies",
        {
            "name": "default",
            "rules": [
                {"targets": ["team-chat"], "hours": "during", "working_hours": "business"},
                {"targets": ["pager"], "hours": "after", "working_hours": "business"},
            ],
        },
    )
    return register("nightly-etl")["service_id"]


@pytest.mark.parametrize(
    ("at", "target"),
    [
        ("2027-03-12T10:00:00-05:00", "team-chat"),  # Friday, EST
        ("2027-03-12T23:00:00-05:00", "pager"),
        ("2027-03-15T10:00:00-04:00", "team-chat"),  # Monday, EDT
        ("2027-03-15T23:00:00-04:00", "pager"),
        ("2027-03-15T14:00:00Z", "team-chat"),  # 10:00 EDT, given in UTC
        ("2027-03-12T14:00:00Z", "team-chat"),  # 09:00 EST
        ("2027-03-12T13:30:00Z", "pager"),  # 08:30 EST: not yet
        ("2026-12-25T10:00:00-05:00", "pager"),  # a holiday
    ],
)
def test_preview_shows_the_target_for_the_hour_across_dst(
    api: Api, office_service: int, at: str, target: str
) -> None:
    preview = api.get(f"services/{office_service}/routing", at=at)
    assert preview["policy"] == "default"
    assert preview["source"] == "default"
    assert preview["mode"] == "all"
    assert preview["targets"] == [target]
    assert datetime.fromisoformat(preview["at"]) == datetime.fromisoformat(at)


def test_preview_lists_disabled_targets_as_skipped(api: Api, office_service: int) -> None:
    api.patch("notification-targets/pager", {"enabled": False})
    preview = api.get(f"services/{office_service}/routing", at="2027-03-15T23:00:00-04:00")
    assert (preview["targets"], preview["skipped"]) == ([], ["pager"])


def test_preview_without_any_policy_names_the_built_in_targets(
    api: Api, register: Callable[..., dict[str, Any]]
) -> None:
    service = register("etl")
    preview = api.get(f"services/{service['service_id']}/routing")
    assert preview["policy"] is None
    assert preview["source"] == "none"
    assert preview["targets"] == ["slack", "pagerduty"]
    assert "SLACK_CHANNEL_ID" in preview["note"]


def test_preview_refuses_a_time_without_offset_and_unknown_services(
    api: Api, office_service: int
) -> None:
    path = f"services/{office_service}/routing"
    assert "needs a UTC offset" in api.get(path, expect=400, at="2027-03-15T10:00:00")
    assert "not an ISO 8601 time" in api.get(path, expect=400, at="tomorrow")
    api.get("services/987654/routing", expect=404)
