"""The teams pages: creating a team and editing its Slack channel and approvers (admin),
rotating its badge URLs (write), rotating its ping key (admin, the key shown once and
never again), all as front door `dashboard`. A read key sees no control and is refused
(and audited); a forged form changes nothing; bad input is a 400 naming the field."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlmodel import select

from medic.models import PingKey, Team
from medic.ops.ping_keys import key_hash
from medic.process import MedicProcess
from tests.dashboard.admin_pages import error_of
from tests.dashboard.conftest import Browser, audit_entries

PAYMENTS = {"name": "payments", "slack_channel_id": "C0PAYMENTS", "approvers": "U0ALICE1\nU0BOBBY1"}


def _team(medic: MedicProcess, name: str = "payments") -> Team | None:
    with medic.db.session() as session:
        return session.exec(select(Team).where(Team.name == name)).first()


def _create(browser: Browser) -> Browser:
    response = browser.post("/dashboard/teams", PAYMENTS)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/dashboard/teams/payments"
    return browser


def test_create_and_edit_a_team(signed_in: Callable[..., Browser], medic: MedicProcess) -> None:
    browser = signed_in("admin", name="lead")
    _create(browser)
    team = _team(medic)
    assert team and team.approvers == ["U0ALICE1", "U0BOBBY1"]
    page = browser.get("/dashboard/teams")
    assert 'href="/dashboard/teams/payments"' in page.text and "C0PAYMENTS" in page.text

    changed = {"slack_channel_id": "", "approvers": "U0CAROL1, U0ALICE1"}
    assert browser.post("/dashboard/teams/payments", changed).status_code == 303
    team = _team(medic)
    assert team and team.slack_channel_id is None and team.approvers == ["U0CAROL1", "U0ALICE1"]
    page = browser.get("/dashboard/teams/payments")
    assert "Team saved." in page.text and "the default channel" in page.text
    entries = audit_entries(medic, "team.update")
    assert [(e.actor, e.front_door) for e in entries] == [("lead", "dashboard")]


def test_rotating_the_badge_shows_new_urls_and_retires_the_old(
    signed_in: Callable[..., Browser], medic: MedicProcess
) -> None:
    browser = signed_in("admin")
    _create(browser)
    before = _team(medic)
    assert before is not None
    page = browser.get("/dashboard/teams/payments")
    assert f"/badges/{before.badge_token}.svg" in page.text
    assert browser.post("/dashboard/teams/payments/badge").status_code == 303
    after = _team(medic)
    assert after is not None and after.badge_token != before.badge_token
    page = browser.get("/dashboard/teams/payments")
    assert f"/badges/{after.badge_token}.json" in page.text
    assert browser.get(f"/badges/{before.badge_token}.svg").status_code == 404
    assert [e.front_door for e in audit_entries(medic, "badge.rotate")] == ["dashboard"]


def test_the_ping_key_is_shown_once(signed_in: Callable[..., Browser], medic: MedicProcess) -> None:
    browser = signed_in("admin")
    _create(browser)
    response = browser.post("/dashboard/teams/payments/ping-key")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    key = re.search(r'data-what="ping key">([^<]+)</code>', response.text)
    assert key
    with medic.db.session() as session:
        row = session.exec(select(PingKey).where(PingKey.team == "payments")).one()
    assert row.key_hash == key_hash(key.group(1))
    assert key.group(1) not in browser.get("/dashboard/teams/payments").text
    (entry,) = audit_entries(medic, "team.ping_key.rotate")
    assert entry.front_door == "dashboard" and key.group(1) not in str(entry.details)


def test_a_write_key_may_rotate_the_badge_only(
    signed_in: Callable[..., Browser], medic: MedicProcess, make_key: Callable[..., str]
) -> None:
    _create(signed_in("admin")).client.cookies.clear()
    browser = signed_in("write", name="oncall")
    page = browser.get("/dashboard/teams/payments")
    assert 'action="/dashboard/teams/payments/badge"' in page.text
    assert 'action="/dashboard/teams/payments/ping-key"' not in page.text
    assert 'action="/dashboard/teams/payments"' not in page.text
    assert browser.post("/dashboard/teams/payments/ping-key").status_code == 403
    (entry,) = audit_entries(medic, "team.ping_key.rotate")
    assert (entry.actor, entry.outcome) == ("oncall", "refused")


def test_a_read_key_sees_no_control_and_is_refused_and_audited(
    signed_in: Callable[..., Browser], medic: MedicProcess
) -> None:
    _create(signed_in("admin")).client.cookies.clear()
    browser = signed_in("read", name="viewer")
    for path in ("/dashboard/teams", "/dashboard/teams/payments"):
        page = browser.get(path)
        assert page.status_code == 200 and "payments" in page.text
        assert 'action="/dashboard/teams' not in page.text, path
    for path, action in (
        ("/dashboard/teams", "team.create"),
        ("/dashboard/teams/payments", "team.update"),
        ("/dashboard/teams/payments/badge", "badge.rotate"),
        ("/dashboard/teams/payments/ping-key", "team.ping_key.rotate"),
    ):
        response = browser.post(path, {**PAYMENTS, "name": "other"})
        assert response.status_code == 403, path
        refused = [(e.actor, e.front_door) for e in audit_entries(medic, action)]
        assert ("viewer", "dashboard") in refused, path
    assert _team(medic, "other") is None


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_forged_form_changes_nothing(
    signed_in: Callable[..., Browser], medic: MedicProcess, token: str | None
) -> None:
    browser = signed_in("admin")
    _create(browser)
    for path in ("/dashboard/teams/payments", "/dashboard/teams/payments/ping-key"):
        response = browser.post(path, {"approvers": "U0MALLORY"}, csrf=token)
        assert response.status_code == 403
    team = _team(medic)
    assert team and team.approvers == ["U0ALICE1", "U0BOBBY1"]
    assert audit_entries(medic, "team.ping_key.rotate") == []


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"slack_channel_id": "#<script>general</script>"}, "slack_channel_id"),
        ({"approvers": "U0ALICE1, <img src=x>"}, "approvers"),
        ({"name": "a/<b>b</b>"}, "name"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_escaped(
    signed_in: Callable[..., Browser], medic: MedicProcess, form: dict[str, str], field: str
) -> None:
    response = signed_in("admin").post("/dashboard/teams", {**PAYMENTS, **form})
    assert response.status_code == 400
    assert field in error_of(response.text)
    for value in form.values():
        assert value not in response.text
    assert _team(medic) is None
