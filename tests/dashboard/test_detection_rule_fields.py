"""The detection rules in the dashboard: set when registering a service, shown on its
page, and refused with the field named like every other door."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def test_rules_set_in_the_register_form_are_shown_on_the_service_page(
    signed_in: Callable[..., Any],
) -> None:
    browser = signed_in("write")
    form = {
        "heartbeat_name": "nightly",
        "schedule_type": "interval",
        "alert_interval": "60",
        "grace_period_seconds": "600",
        "alert_after_failures": "3",
        "recover_after_successes": "2",
        "min_duration_seconds": "120",
        "start_grace_seconds": "60",
        "intent": "register",
    }
    response = browser.post("/dashboard/services/new", form)
    assert response.status_code == 303, response.text
    page = browser.get(response.headers["location"]).text
    assert "alert after 3 failures in a row, recover after 2 heartbeats" in page
    assert "runs of at least 120 s" in page and "start grace 60 s" in page


def test_a_rule_that_contradicts_the_schedule_names_its_field(
    signed_in: Callable[..., Any],
) -> None:
    browser = signed_in("write")
    form = {"heartbeat_name": "x", "alert_interval": "5", "max_beats": "3", "intent": "register"}
    response = browser.post("/dashboard/services/new", form)
    assert response.status_code == 400
    assert "max_beats applies only when schedule_type is window" in response.text
    assert 'value="3"' in response.text
