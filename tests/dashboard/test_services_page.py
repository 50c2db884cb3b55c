"""The services page (filters, search, paging) and registering a service (every
schedule kind, a preview of the deadlines first), through the declared operations as
front door `dashboard`; a read key sees no control to register, and is refused anyway."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from medic.ops.actor import cli_operator
from medic.ops.service_commands import RegisterService
from medic.ops.services import register as register_service
from medic.process import MedicProcess
from tests.dashboard.conftest import audit_entries
from tests.support import Clock


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/dashboard/services/\d+">([^<]+)</a>', html)


def _register(medic: MedicProcess, name: str, **fields: Any) -> None:
    command = RegisterService.of(heartbeat_name=name, alert_interval=5, **fields)
    register_service(medic.context(cli_operator()), command)


def test_filters_search_and_paging(
    signed_in: Callable[..., Any], medic: MedicProcess, clock: Clock
) -> None:
    for index in range(55):
        _register(medic, f"job-{index:02d}", team="batch")
    _register(medic, "api-gateway", team="web", grace_period_seconds=600)
    _register(medic, "old-cron", team="web", active=False)
    browser = signed_in("read")

    first = browser.get("/dashboard/services")
    assert "57 services, showing 1\u201350" in first.text
    assert len(_names(first.text)) == 50 and 'rel="next"' in first.text
    second = browser.get("/dashboard/services?offset=50")
    assert len(_names(second.text)) == 7 and 'rel="prev"' in second.text

    assert sorted(_names(browser.get("/dashboard/services?team=web").text)) == [
        "api-gateway",
        "old-cron",
    ]
    assert _names(browser.get("/dashboard/services?search=GATE").text) == ["api-gateway"]
    assert _names(browser.get("/dashboard/services?health=paused").text) == ["old-cron"]
    assert _names(browser.get("/dashboard/services?health=late").text) == []

    clock.advance(minutes=6)  # past every deadline; api-gateway is in its grace period
    late = _names(browser.get("/dashboard/services?health=late&team=web").text)
    assert late == ["api-gateway"]
    assert len(_names(browser.get("/dashboard/services?health=late").text)) == 50
    assert _names(browser.get("/dashboard/services?health=new").text) == []


def test_bad_filters_are_a_clear_400(signed_in: Callable[..., Any]) -> None:
    browser = signed_in("read")
    response = browser.get("/dashboard/services?health=sideways")
    assert response.status_code == 400 and "health" in response.text
    assert browser.get("/dashboard/services?offset=-1").status_code == 400


def test_preview_shows_the_deadlines_and_saves_nothing(
    signed_in: Callable[..., Any], medic: MedicProcess
) -> None:
    browser = signed_in("write")
    form = {
        "heartbeat_name": "nightly",
        "schedule_type": "cron",
        "cron_expression": "0 3 * * *",
        "timezone": "Europe/Paris",
        "intent": "preview",
    }
    response = browser.post("/dashboard/services/new", form)
    assert response.status_code == 200
    assert response.text.count("<li><time") == 5
    assert "02:00:00 UTC" in response.text or "01:00:00 UTC" in response.text
    assert 'value="0 3 * * *"' in response.text  # the form keeps what was typed
    assert _names(browser.get("/dashboard/services").text) == []


def test_registering_every_schedule_kind_is_audited_as_the_dashboard(
    signed_in: Callable[..., Any], medic: MedicProcess
) -> None:
    browser = signed_in("write", name="operator")
    forms = [
        {"heartbeat_name": "every-5", "schedule_type": "interval", "alert_interval": "5"},
        {"heartbeat_name": "nightly", "schedule_type": "cron", "cron_expression": "0 3 * * *"},
        {
            "heartbeat_name": "busy",
            "schedule_type": "window",
            "alert_interval": "60",
            "threshold": "3",
        },
    ]
    for form in forms:
        response = browser.post("/dashboard/services/new", {**form, "intent": "register"})
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith("/dashboard/services/")
        page = browser.get(response.headers["location"])
        assert "Registered." in page.text and form["heartbeat_name"] in page.text
    entries = audit_entries(medic, "service.register")
    assert [(e.actor, e.front_door) for e in entries] == [("operator", "dashboard")] * 3


def test_invalid_input_names_the_field_and_keeps_the_form(signed_in: Callable[..., Any]) -> None:
    browser = signed_in("write")
    form = {"heartbeat_name": "x", "alert_interval": "0", "service_name": "kept"}
    response = browser.post("/dashboard/services/new", {**form, "intent": "register"})
    assert response.status_code == 400
    assert "alert_interval" in response.text and 'value="kept"' in response.text
    taken = {"heartbeat_name": "dup", "alert_interval": "5", "intent": "register"}
    assert browser.post("/dashboard/services/new", taken).status_code == 303
    assert browser.post("/dashboard/services/new", taken).status_code == 409


def test_a_read_key_sees_no_register_control_and_is_refused_anyway(
    signed_in: Callable[..., Any], medic: MedicProcess
) -> None:
    browser = signed_in("read", name="viewer")
    assert "Register service" not in browser.get("/dashboard/services").text
    form = {"heartbeat_name": "sneaky", "alert_interval": "5", "intent": "register"}
    response = browser.post("/dashboard/services/new", form)
    assert response.status_code == 403
    assert _names(browser.get("/dashboard/services").text) == []
    (entry,) = audit_entries(medic, "service.register")
    assert (entry.actor, entry.front_door, entry.outcome) == ("viewer", "dashboard", "refused")


def test_pages_allow_no_inline_script_or_framing(signed_in: Callable[..., Any]) -> None:
    browser = signed_in("admin")
    pages = [browser.get(p) for p in ("/dashboard/services", "/dashboard/services/new")]
    browser.client.cookies.clear()
    for response in [*pages, browser.get("/dashboard/sign-in")]:
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert "<script>" not in response.text and " style=" not in response.text
    assert browser.get("/dashboard/static/dashboard.css").status_code == 200
    assert browser.get("/dashboard/static/dashboard.js").status_code == 200
