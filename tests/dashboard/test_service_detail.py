"""A service's page: state history, heartbeats (job output escaped), runs with a chart
and stats, its ping URL only to keys that may post heartbeats; and its forms (mute,
unmute, maintenance window) through the declared operations as front door
`dashboard`. A forged form (no or wrong CSRF token) and a read key change nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.core.links import service_page
from medic.models import MaintenanceWindow, Service
from medic.process import MedicProcess
from tests.conftest import auth
from tests.dashboard.conftest import Browser, audit_entries
from tests.support import Clock, RecordingScheduler


def _service(medic: MedicProcess, service_id: int) -> Service:
    with medic.db.session() as session:
        found = session.get(Service, service_id)
        assert found is not None
        return found


def test_the_page_shows_history_heartbeats_and_runs(
    signed_in: Callable[..., Browser],
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    make_key: Callable[..., str],
    clock: Clock,
    scheduler: RecordingScheduler,
) -> None:
    service = register("nightly-backup", alert_interval=1)
    ingest = auth(make_key("ingest"))
    sid = service["service_id"]
    for run in ("r1", "r2"):
        client.post(f"/v2/heartbeat/{sid}/start", json={"run_id": run}, headers=ingest)
        clock.advance(seconds=3)
        client.post(f"/v2/heartbeat/{sid}/complete", json={"run_id": run}, headers=ingest)
    beat = {"heartbeat_name": "nightly-backup", "status": "UP", "message": "<script>x</script>"}
    assert client.post("/v2/heartbeats", json=beat, headers=ingest).status_code == 201
    clock.advance(minutes=2)
    scheduler.run_pass()

    page = signed_in("read").get(f"/dashboard/services/{sid}")
    assert page.status_code == 200
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text and "<script>x" not in page.text
    assert "up → " in page.text and "health-down" in page.text  # went down, and why
    assert '<svg viewBox="0 0 600 120"' in page.text and page.text.count('class="bar ') == 2
    assert "2 (2 completed" in page.text
    assert "Ping URL" not in page.text and service["uuid"] not in page.text
    assert 'action="/dashboard/services/' not in page.text  # no mutating control


def test_a_writer_sees_the_ping_url_and_every_control(
    signed_in: Callable[..., Browser], register: Callable[..., dict[str, Any]]
) -> None:
    service = register("nightly-backup")
    page = signed_in("write").get(f"/dashboard/services/{service['service_id']}")
    assert f"/ping/{service['uuid']}" in page.text
    for action in ("mute", "maintenance", "badge"):
        assert f'action="/dashboard/services/{service["service_id"]}/{action}"' in page.text
    assert '<label for="f-duration">Duration</label>' in page.text
    assert '<label for="f-reason">Reason</label>' in page.text


def test_mute_with_a_reason_then_unmute_is_audited_as_the_dashboard(
    signed_in: Callable[..., Browser],
    register: Callable[..., dict[str, Any]],
    medic: MedicProcess,
) -> None:
    sid = register("nightly-backup")["service_id"]
    browser = signed_in("write", name="oncall")
    response = browser.post(
        f"/dashboard/services/{sid}/mute", {"duration": "2h", "reason": "db migration"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/dashboard/services/{sid}"
    page = browser.get(f"/dashboard/services/{sid}")
    assert "Muted." in page.text and "db migration" in page.text
    service = _service(medic, sid)
    assert service.muted and service.mute_reason == "db migration"
    (entry,) = audit_entries(medic, "service.mute")
    assert (entry.actor, entry.front_door) == ("oncall", "dashboard")
    assert entry.details["reason"] == "db migration"
    assert entry.details["duration_seconds"] == 7200

    assert browser.post(f"/dashboard/services/{sid}/unmute").status_code == 303
    assert not _service(medic, sid).muted
    assert [e.front_door for e in audit_entries(medic, "service.unmute")] == ["dashboard"]


def test_a_bad_duration_names_the_field_and_changes_nothing(
    signed_in: Callable[..., Browser],
    register: Callable[..., dict[str, Any]],
    medic: MedicProcess,
) -> None:
    sid = register("nightly-backup")["service_id"]
    browser = signed_in("write")
    response = browser.post(f"/dashboard/services/{sid}/mute", {"duration": "forever"})
    assert response.status_code == 400 and "duration" in response.text
    assert 'value="forever"' in response.text
    assert not _service(medic, sid).muted


def test_opening_a_maintenance_window(
    signed_in: Callable[..., Browser],
    register: Callable[..., dict[str, Any]],
    medic: MedicProcess,
) -> None:
    sid = register("nightly-backup")["service_id"]
    response = signed_in("write").post(
        f"/dashboard/services/{sid}/maintenance", {"duration": "2h", "reason": "upgrade"}
    )
    assert response.status_code == 303
    with medic.db.session() as session:
        (window,) = session.exec(select(MaintenanceWindow)).all()
    assert window.service_ids == [sid] and window.reason == "upgrade"
    assert [e.front_door for e in audit_entries(medic, "maintenance.create")] == ["dashboard"]


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_forged_post_is_refused_and_changes_nothing(
    signed_in: Callable[..., Browser],
    register: Callable[..., dict[str, Any]],
    medic: MedicProcess,
    token: str | None,
) -> None:
    sid = register("nightly-backup")["service_id"]
    browser = signed_in("admin")
    for action in ("mute", "maintenance", "badge"):
        form = {"duration": "1h", "reason": "forged"}
        response = browser.post(f"/dashboard/services/{sid}/{action}", form, csrf=token)
        assert response.status_code == 403
        assert "security token" in response.text
    response = browser.post("/dashboard/services/new", {"heartbeat_name": "x"}, csrf=token)
    assert response.status_code == 403
    assert not _service(medic, sid).muted
    assert audit_entries(medic, "service.mute") == []
    assert audit_entries(medic, "maintenance.create") == []


def test_another_sessions_token_is_refused(
    browser: Browser,
    make_key: Callable[..., str],
    register: Callable[..., dict[str, Any]],
    medic: MedicProcess,
) -> None:
    """A token lifted from one session (another person's page) is worthless in another."""
    sid = register("nightly-backup")["service_id"]
    browser.sign_in(make_key("write"))
    theirs = browser.csrf()
    browser.client.cookies.clear()
    browser.sign_in(make_key("write"))
    response = browser.post(f"/dashboard/services/{sid}/mute", {"duration": "1h"}, csrf=theirs)
    assert response.status_code == 403
    assert not _service(medic, sid).muted


def test_a_read_key_is_refused_every_action_and_each_refusal_is_audited(
    signed_in: Callable[..., Browser],
    register: Callable[..., dict[str, Any]],
    medic: MedicProcess,
) -> None:
    sid = register("nightly-backup")["service_id"]
    browser = signed_in("read", name="viewer")
    for action, audited in (
        ("mute", "service.mute"),
        ("unmute", "service.unmute"),
        ("maintenance", "maintenance.create"),
        ("badge", "badge.rotate"),
    ):
        response = browser.post(f"/dashboard/services/{sid}/{action}", {"duration": "1h"})
        assert response.status_code == 403, action
        (entry,) = audit_entries(medic, audited)
        assert (entry.actor, entry.front_door, entry.outcome) == ("viewer", "dashboard", "refused")
    assert not _service(medic, sid).muted


def test_an_unknown_service_is_a_404_page(signed_in: Callable[..., Browser]) -> None:
    browser = signed_in("read")
    response = browser.get("/dashboard/services/999")
    assert response.status_code == 404 and "no service with id 999" in response.text
    assert browser.get("/dashboard/services/abc").status_code == 400


def test_a_link_by_name_lands_on_the_services_page(
    signed_in: Callable[..., Browser], register: Callable[..., dict[str, Any]]
) -> None:
    """MCP results link to a service by its name (medic.core.links.service_page)."""
    service = register("nightly-backup")
    browser = signed_in("read")

    found = browser.get(service_page("", "nightly-backup"))
    missing = browser.get(service_page("", "no-such-job"))

    assert found.status_code == 303
    assert found.headers["location"] == f"/dashboard/services/{service['service_id']}"
    assert missing.status_code == 404
