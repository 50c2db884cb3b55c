"""Status badges at unguessable URLs (the token is the capability, no key): SVG and
JSON, per service and per team, up / late / down; rotating a badge (a declared,
audited operation) retires its old URLs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from medic.ops import badges, teams
from medic.ops.actor import cli_operator
from medic.process import MedicProcess
from tests.conftest import auth
from tests.dashboard.conftest import Browser, audit_entries
from tests.support import Clock, RecordingScheduler


def _badge_urls(page: str) -> tuple[str, str]:
    svg = re.search(r"http://medic\.test(/badges/[\w-]+\.svg)", page)
    json = re.search(r"http://medic\.test(/badges/[\w-]+\.json)", page)
    assert svg and json, "no badge URL on the page"
    return svg.group(1), json.group(1)


def test_a_service_badge_goes_late_down_and_up_again(
    client: TestClient,
    signed_in: Callable[..., Browser],
    register: Callable[..., dict[str, Any]],
    make_key: Callable[..., str],
    clock: Clock,
    scheduler: RecordingScheduler,
) -> None:
    sid = register("nightly-backup", alert_interval=1, grace_period_seconds=60)["service_id"]
    svg, json = _badge_urls(signed_in("read").get(f"/dashboard/services/{sid}").text)
    client.cookies.clear()  # a badge needs no session

    def word() -> str:
        return client.get(json).json()["message"]

    assert word() == "up"
    answer = client.get(svg)
    assert answer.headers["content-type"] == "image/svg+xml"
    assert "nightly-backup" in answer.text and ">up</text>" in answer.text
    assert client.get(json).json() == {
        "schemaVersion": 1,
        "label": "nightly-backup",
        "message": "up",
        "color": "brightgreen",
        "status": "up",
        "kind": "service",
    }
    clock.advance(seconds=70)
    assert word() == "late"
    clock.advance(seconds=60)
    scheduler.run_pass()
    assert word() == "down"
    beat = {"heartbeat_name": "nightly-backup", "status": "UP"}
    assert client.post("/v2/heartbeats", json=beat, headers=auth(make_key("ingest"))).is_success
    scheduler.run_pass()  # detection confirms the recovery
    assert word() == "up"


def test_rotating_a_badge_retires_its_old_urls_and_is_audited(
    client: TestClient,
    signed_in: Callable[..., Browser],
    register: Callable[..., dict[str, Any]],
    medic: MedicProcess,
) -> None:
    sid = register("nightly-backup")["service_id"]
    browser = signed_in("write", name="oncall")
    old_svg, old_json = _badge_urls(browser.get(f"/dashboard/services/{sid}").text)
    assert browser.post(f"/dashboard/services/{sid}/badge").status_code == 303
    new_svg, _ = _badge_urls(browser.get(f"/dashboard/services/{sid}").text)
    assert new_svg != old_svg
    assert client.get(old_svg).status_code == 404 and client.get(old_json).status_code == 404
    assert client.get(new_svg).status_code == 200
    (entry,) = audit_entries(medic, "badge.rotate")
    assert (entry.actor, entry.front_door, entry.target_id) == ("oncall", "dashboard", str(sid))


def test_unknown_badges_are_404(client: TestClient) -> None:
    for path in ("/badges/nothing.svg", "/badges/nothing.json", "/badges/" + "x" * 200 + ".svg"):
        assert client.get(path).status_code == 404


def test_a_team_badge_shows_its_worst_service(
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    medic: MedicProcess,
    signed_in: Callable[..., Browser],
    clock: Clock,
) -> None:
    admin = medic.context(cli_operator())
    teams.create_team(admin, teams.CreateTeam.of(name="payments"))
    register("fast", team="payments", alert_interval=1)
    register("slow", team="payments", alert_interval=60)
    links = badges.get_badge(admin, badges.GetBadge.of(team="payments"))
    assert links.json_url is not None
    json = links.json_url.removeprefix("http://medic.test")
    assert client.get(json).json()["message"] == "up"
    assert client.get(json).json()["kind"] == "team"
    clock.advance(minutes=2)
    assert client.get(json).json()["message"] == "late"
    page = signed_in("read").get("/dashboard/services?team=payments")
    assert links.svg_url in page.text
