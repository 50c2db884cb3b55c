"""v2 working hours (SRE-12): IANA timezones only, days and times checked and stored
normalised, holiday calendars that exist; a schedule a policy names cannot be deleted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.routing.helpers import BUSINESS, Api


def test_a_schedule_is_stored_normalised(api: Api) -> None:
    created = api.create(
        "working-hours",
        {
            "name": "support",
            "timezone": "Europe/Berlin",
            "days": "FRI, mon-wed",
            "start": "08:30",
            "end": "17:00",
            "holidays_country": "de",
            "holidays_subdivision": "by",
        },
    )
    assert created["days"] == ["mon", "tue", "wed", "fri"]
    assert (created["start"], created["end"], created["overnight"]) == ("08:30", "17:00", False)
    assert (created["holidays_country"], created["holidays_subdivision"]) == ("DE", "BY")
    assert api.get("working-hours/support") == created


def test_an_end_before_the_start_runs_overnight(api: Api) -> None:
    body = {**BUSINESS, "name": "night", "start": "22:00", "end": "06:00"}
    assert api.create("working-hours", body)["overnight"] is True


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"timezone": "EST"}, "not an IANA timezone name"),
        ({"timezone": "Mars/Olympus_Mons"}, "not a known IANA timezone"),
        ({"days": ["weekdays"]}, "not a day"),
        ({"days": []}, "at least one day"),
        ({"start": "9am"}, "HH:MM"),
        ({"end": "24:00"}, "HH:MM"),
        ({"holidays_country": "XX"}, "holidays_country: no holiday calendar for country 'XX'"),
        ({"holidays_subdivision": "ZZ"}, "US has no holiday subdivision 'ZZ'"),
        ({"holidays_country": None, "holidays_subdivision": "CA"}, "needs a holidays country"),
        ({"name": "a/b"}, "'/'"),
        ({"lunch": "12:00"}, "unknown field 'lunch'"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    api: Api, changes: dict[str, Any], fragment: str
) -> None:
    assert fragment in api.create("working-hours", {**BUSINESS, **changes}, expect=400)


@pytest.mark.parametrize("field", ["timezone", "days", "start", "end"])
def test_required_fields(api: Api, field: str) -> None:
    body = {k: v for k, v in BUSINESS.items() if k != field}
    assert f"{field} is required" in api.create("working-hours", body, expect=400)


def test_update_changes_and_rechecks(api: Api) -> None:
    api.create("working-hours", BUSINESS)
    updated = api.patch("working-hours/business", {"end": "17:30", "days": ["mon-thu"]})
    assert (updated["end"], updated["days"]) == ("17:30", ["mon", "tue", "wed", "thu"])
    assert updated["timezone"] == "America/New_York"

    assert "must not be null" in api.patch("working-hours/business", {"start": None}, 400)
    message = api.patch("working-hours/business", {"holidays_subdivision": "QQ"}, 400)
    assert "no holiday subdivision" in message
    no_holidays = api.patch("working-hours/business", {"holidays_country": None})
    assert no_holidays["holidays_country"] is None
    assert api.get("working-hours/business")["end"] == "17:30"


def test_duplicates_are_409_and_unknown_names_404(api: Api) -> None:
    api.create("working-hours", BUSINESS)
    api.create("working-hours", {**BUSINESS, "name": "Business"}, expect=409)
    api.get("working-hours/nope", expect=404)
    api.patch("working-hours/nope", {"end": "17:00"}, expect=404)
    api.delete("working-hours/nope", expect=404)


def test_a_schedule_a_policy_names_cannot_be_deleted(api: Api) -> None:
    api.create("working-hours", BUSINESS)
    rule = {"targets": ["slack"], "hours": "during", "working_hours": "business"}
    api.create("routing-policies", {"name": "office", "rules": [rule]})

    message = api.delete("working-hours/business", expect=409)
    assert "used by routing policy 'office'" in message

    api.patch("routing-policies/office", {"rules": [{"targets": ["slack"]}]})
    assert api.delete("working-hours/business") == {"name": "business"}


def test_every_change_is_audited(api: Api) -> None:
    api.create("working-hours", BUSINESS)
    api.patch("working-hours/business", {"start": "10:00"})
    api.delete("working-hours/business")

    [created] = api.audit("working_hours.create")
    assert created["details"]["days"] == ["mon", "tue", "wed", "thu", "fri"]
    [updated] = api.audit("working_hours.update")
    assert (updated["details"]["before"]["start"], updated["details"]["after"]["start"]) == (
        "09:00",
        "10:00",
    )
    assert api.audit("working_hours.delete")[0]["details"]["name"] == "business"
