"""The maintenance page: creating one-time and recurring (cron in a time zone) windows,
editing and deleting them through the declared operations as front door `dashboard`.
A read key sees no form and is refused (and audited); a forged form changes nothing;
bad input is a 400 naming the field, the page escaped and the form kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from medic.models import MaintenanceWindow
from medic.process import MedicProcess
from tests.dashboard.admin_pages import error_of
from tests.dashboard.conftest import Browser, audit_entries

RECURRING = {
    "name": "weekly patching",
    "kind": "recurring",
    "cron_expression": "0 2 * * 6",
    "duration": "2h",
    "timezone": "Europe/Paris",
}


def _windows(medic: MedicProcess) -> list[MaintenanceWindow]:
    with medic.db.session() as session:
        return list(session.exec(select(MaintenanceWindow)))


def test_a_one_time_window_for_named_services(
    signed_in: Callable[..., Browser],
    register: Callable[..., dict[str, Any]],
    medic: MedicProcess,
) -> None:
    first = register("nightly-backup")["service_id"]
    second = register("billing-worker")["service_id"]
    browser = signed_in("write", name="oncall")
    form = {
        "name": "db upgrade",
        "reason": "postgres 17",
        "services": "nightly-backup, Billing-Worker",
        "kind": "once",
        "starts_at": "2030-03-15T22:00",
        "ends_at": "2030-03-16T01:30",
        "timezone": "America/New_York",
    }
    response = browser.post("/dashboard/maintenance", form)
    assert response.status_code == 303, response.text
    (window,) = _windows(medic)
    assert window.service_ids == sorted([first, second])
    assert window.starts_at.isoformat().startswith("2030-03-16T02:00")  # 22:00 EDT in UTC
    assert window.ends_at.isoformat().startswith("2030-03-16T05:30")
    page = browser.get("/dashboard/maintenance")
    assert "Maintenance window created." in page.text
    assert "nightly-backup, billing-worker" in page.text and "postgres 17" in page.text
    (entry,) = audit_entries(medic, "maintenance.create")
    assert (entry.actor, entry.front_door) == ("oncall", "dashboard")


def test_a_recurring_window_then_edit_then_delete(
    signed_in: Callable[..., Browser], medic: MedicProcess
) -> None:
    browser = signed_in("write")
    assert browser.post("/dashboard/maintenance", RECURRING).status_code == 303
    (window,) = _windows(medic)
    assert (window.cron_expression, window.duration_minutes) == ("0 2 * * 6", 120)
    assert window.timezone == "Europe/Paris" and window.service_ids is None
    page = browser.get("/dashboard/maintenance")
    assert "every service" in page.text and "Europe/Paris" in page.text

    edit = browser.get(f"/dashboard/maintenance/{window.window_id}")
    assert edit.status_code == 200 and 'value="120m"' in edit.text
    changed = {**RECURRING, "cron_expression": "30 3 * * 0", "duration": "90m"}
    response = browser.post(f"/dashboard/maintenance/{window.window_id}", changed)
    assert response.status_code == 303, response.text
    (window,) = _windows(medic)
    assert (window.cron_expression, window.duration_minutes) == ("30 3 * * 0", 90)
    (entry,) = audit_entries(medic, "maintenance.update")
    assert entry.front_door == "dashboard"
    assert entry.details["before"]["cron_expression"] == "0 2 * * 6"

    response = browser.post(f"/dashboard/maintenance/{window.window_id}/delete")
    assert response.status_code == 303
    assert _windows(medic) == []
    assert [e.front_door for e in audit_entries(medic, "maintenance.delete")] == ["dashboard"]


def test_a_read_key_sees_no_form_and_is_refused_and_audited(
    signed_in: Callable[..., Browser], medic: MedicProcess, make_key: Callable[..., str]
) -> None:
    writer = signed_in("write")
    assert writer.post("/dashboard/maintenance", RECURRING).status_code == 303
    (window,) = _windows(medic)
    writer.client.cookies.clear()
    browser = signed_in("read", name="viewer")
    page = browser.get("/dashboard/maintenance")
    assert page.status_code == 200 and "weekly patching" in page.text
    assert 'method="post" action="/dashboard/maintenance' not in page.text
    for path, action in (
        ("/dashboard/maintenance", "maintenance.create"),
        (f"/dashboard/maintenance/{window.window_id}", "maintenance.update"),
        (f"/dashboard/maintenance/{window.window_id}/delete", "maintenance.delete"),
    ):
        response = browser.post(path, RECURRING)
        assert response.status_code == 403, path
        refused = [e for e in audit_entries(medic, action) if e.outcome == "refused"]
        assert [(e.actor, e.front_door) for e in refused] == [("viewer", "dashboard")]
    assert len(_windows(medic)) == 1


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_forged_form_changes_nothing(
    signed_in: Callable[..., Browser], medic: MedicProcess, token: str | None
) -> None:
    browser = signed_in("admin")
    assert browser.post("/dashboard/maintenance", RECURRING, csrf=token).status_code == 403
    assert _windows(medic) == []
    assert audit_entries(medic, "maintenance.create") == []


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"cron_expression": "<script>x</script>"}, "cron_expression"),
        ({"timezone": "Mars/<b>Olympus</b>"}, "timezone"),
        ({"services": "<i>nobody</i>"}, "services"),
        ({"kind": "once", "starts_at": "soon<script>"}, "starts_at"),
        ({"duration": "forever"}, "duration"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_escaped(
    signed_in: Callable[..., Browser], medic: MedicProcess, form: dict[str, str], field: str
) -> None:
    response = signed_in("write").post("/dashboard/maintenance", {**RECURRING, **form})
    assert response.status_code == 400
    assert field in error_of(response.text)
    for value in form.values():
        if "<" in value:
            assert value not in response.text
    assert 'value="weekly patching"' in response.text  # the form is kept
    assert _windows(medic) == []
