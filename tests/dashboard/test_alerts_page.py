"""The alerts page: history filtered by state, service, team and period; acknowledging
an open alert as front door `dashboard`. A read key sees no Acknowledge button and is
refused (and audited) when it posts anyway; a forged form changes nothing; a bad filter
is a 400 naming it, escaped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from medic.models import Alert
from medic.process import MedicProcess
from tests.dashboard.admin_pages import error_of
from tests.dashboard.conftest import Browser, audit_entries
from tests.support import Clock, RecordingScheduler


@pytest.fixture
def two_down(
    register: Callable[..., dict[str, Any]], clock: Clock, scheduler: RecordingScheduler
) -> dict[str, int]:
    """nightly-backup (team storage) and billing-worker (team payments), both down."""
    ids = {
        "nightly-backup": register("nightly-backup", alert_interval=1, team="storage"),
        "billing-worker": register("billing-worker", alert_interval=1, team="payments"),
    }
    clock.advance(minutes=3)
    scheduler.run_pass()
    return {name: service["service_id"] for name, service in ids.items()}


def _alert_of(medic: MedicProcess, service_id: int) -> Alert:
    with medic.db.session() as session:
        return session.exec(select(Alert).where(Alert.service_id == service_id)).one()


def test_the_history_filters_by_state_service_team_and_period(
    signed_in: Callable[..., Browser], two_down: dict[str, int]
) -> None:
    browser = signed_in("read")
    page = browser.get("/dashboard/alerts")
    assert page.status_code == 200
    assert "2 alerts" in page.text
    assert "nightly-backup" in page.text and "billing-worker" in page.text

    page = browser.get("/dashboard/alerts?team=payments&active=open")
    assert "1 alert," in page.text and "billing-worker" in page.text
    assert ">nightly-backup</a>" not in page.text
    page = browser.get("/dashboard/alerts?service=NIGHTLY")
    assert "1 alert," in page.text and ">nightly-backup</a>" in page.text
    assert "0 alerts" in browser.get("/dashboard/alerts?active=closed").text

    today = datetime.now(UTC).date()
    long_ago = (today - timedelta(days=30)).isoformat()
    last_week = (today - timedelta(days=7)).isoformat()
    assert "0 alerts" in browser.get(f"/dashboard/alerts?since={long_ago}&until={last_week}").text
    yesterday = (today - timedelta(days=1)).isoformat()
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert "2 alerts" in browser.get(f"/dashboard/alerts?since={yesterday}&until={tomorrow}").text


def test_acknowledging_is_audited_as_the_dashboard(
    signed_in: Callable[..., Browser], two_down: dict[str, int], medic: MedicProcess
) -> None:
    browser = signed_in("write", name="oncall")
    alert = _alert_of(medic, two_down["billing-worker"])
    page = browser.get("/dashboard/alerts?team=payments")
    action = f'action="/dashboard/alerts/{alert.alert_id}/acknowledge"'
    assert action in page.text
    response = browser.post(f"/dashboard/alerts/{alert.alert_id}/acknowledge", {"team": "payments"})
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/alerts?team=payments"
    page = browser.get(response.headers["location"])
    assert f"Alert {alert.alert_id} acknowledged." in page.text and "by oncall" in page.text
    assert _alert_of(medic, two_down["billing-worker"]).acknowledged_by == "oncall"
    (entry,) = audit_entries(medic, "alert.acknowledge")
    assert (entry.actor, entry.front_door, entry.outcome) == ("oncall", "dashboard", "success")


def test_a_read_key_sees_no_button_and_is_refused_and_audited(
    signed_in: Callable[..., Browser], two_down: dict[str, int], medic: MedicProcess
) -> None:
    browser = signed_in("read", name="viewer")
    alert = _alert_of(medic, two_down["billing-worker"])
    page = browser.get("/dashboard/alerts")
    assert ">Acknowledge</button>" not in page.text and "/acknowledge" not in page.text
    response = browser.post(f"/dashboard/alerts/{alert.alert_id}/acknowledge")
    assert response.status_code == 403
    (entry,) = audit_entries(medic, "alert.acknowledge")
    assert (entry.actor, entry.front_door, entry.outcome) == ("viewer", "dashboard", "refused")
    assert _alert_of(medic, two_down["billing-worker"]).acknowledged_at is None


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_forged_acknowledgement_changes_nothing(
    signed_in: Callable[..., Browser],
    two_down: dict[str, int],
    medic: MedicProcess,
    token: str | None,
) -> None:
    browser = signed_in("admin")
    alert = _alert_of(medic, two_down["billing-worker"])
    response = browser.post(f"/dashboard/alerts/{alert.alert_id}/acknowledge", csrf=token)
    assert response.status_code == 403
    assert _alert_of(medic, two_down["billing-worker"]).acknowledged_at is None
    assert audit_entries(medic, "alert.acknowledge") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=<script>alert(1)</script>", "since"),
        ("until=2027-02-30", "until"),
        ("active=<b>maybe</b>", "active"),
        ("since=2027-03-02&until=2027-03-01", "until"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it_escaped(
    signed_in: Callable[..., Browser], query: str, field: str
) -> None:
    page = signed_in("read").get(f"/dashboard/alerts?{query}")
    assert page.status_code == 400
    assert error_of(page.text).startswith(field)
    assert "<script>alert" not in page.text and "<b>maybe" not in page.text


def test_acknowledging_an_unknown_alert_is_a_404(signed_in: Callable[..., Browser]) -> None:
    response = signed_in("write").post("/dashboard/alerts/999999/acknowledge")
    assert response.status_code == 404 and "no alert with id 999999" in response.text
