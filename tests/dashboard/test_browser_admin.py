"""The alerts, maintenance, teams, routing and API keys pages in a real browser
(chromium, Playwright, SQLite backend): an admin creates a key, sees it once, and
revokes it; axe-core finds no serious or critical accessibility violation on any of
these pages, with and without their forms' answers shown."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from medic.app import create_app
from medic.ops import services, teams
from medic.ops.actor import cli_operator
from medic.ops.service_commands import RegisterService
from medic.ops.teams import CreateTeam
from medic.process import MedicProcess
from tests.conftest import auth
from tests.dashboard.browser import serious_violations
from tests.processes import serving
from tests.support import Clock, RecordingScheduler

pytestmark = pytest.mark.slow


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def base_url(medic: MedicProcess) -> Iterator[str]:
    with serving(create_app(medic=medic)) as url:
        yield url


def test_an_admin_creates_and_revokes_a_key(
    chromium: Any, base_url: str, make_key: Callable[..., str]
) -> None:
    context = chromium.new_context(base_url=base_url)
    page = context.new_page()
    page.goto("/dashboard/sign-in")
    page.get_by_label("API key").fill(make_key("admin", name="lead"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/services")
    page.get_by_role("link", name="API keys").click()
    page.wait_for_url("**/dashboard/keys")
    page.get_by_label("Name", exact=True).fill("grafana")
    page.get_by_label("read", exact=True).check()
    page.get_by_role("button", name="Create key").click()
    key = page.locator("code.secret").inner_text().strip()
    assert key.startswith("mdk_")
    assert httpx.get(f"{base_url}/v2/services", headers=auth(key)).status_code == 200
    row = page.get_by_role("row").filter(has_text="grafana")
    assert "read" in row.inner_text() and "live" in row.inner_text()

    page.get_by_role("button", name="Revoke key grafana").click()
    assert page.get_by_role("status").inner_text() == "Key revoked."
    assert key not in page.content()  # shown once
    assert "revoked" in page.get_by_role("row").filter(has_text="grafana").inner_text()
    assert httpx.get(f"{base_url}/v2/services", headers=auth(key)).status_code == 401
    context.close()


def test_the_admin_pages_have_no_serious_accessibility_violation(
    chromium: Any,
    axe_source: str,
    base_url: str,
    make_key: Callable[..., str],
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
) -> None:
    operator = medic.context(cli_operator())
    for name, team in (("billing-worker", "payments"), ("nightly-backup", "storage")):
        command = RegisterService.of(heartbeat_name=name, team=team, alert_interval=1)
        services.create(operator, command)
    teams.create_team(operator, CreateTeam.of(name="payments", slack_channel_id="C0PAYMENTS"))
    clock.advance(minutes=3)
    scheduler.run_pass()

    context = chromium.new_context(base_url=base_url, bypass_csp=True)
    page = context.new_page()
    problems: list[str] = []

    def accessible(where: str) -> None:
        problems.extend(f"{where}: {v}" for v in serious_violations(page, axe_source))

    page.goto("/dashboard/sign-in")
    page.get_by_label("API key").fill(make_key("admin", name="lead"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/services")

    page.goto("/dashboard/alerts")
    accessible("alerts")
    page.get_by_role("button", name=re.compile("Acknowledge alert")).first.click()
    assert "acknowledged" in page.get_by_role("status").inner_text()
    page.goto("/dashboard/alerts?since=not-a-day")
    accessible("alerts, bad filter")

    page.goto("/dashboard/maintenance")
    page.get_by_label("Name", exact=True).fill("weekly patching")
    page.get_by_label("Kind").select_option("recurring")
    page.get_by_label("Cron expression").fill("0 2 * * 6")
    page.get_by_label("Duration").fill("2h")
    page.get_by_role("button", name="Create window").click()
    assert page.get_by_role("status").inner_text() == "Maintenance window created."
    accessible("maintenance")
    page.get_by_role("link", name="Edit window weekly patching").click()
    accessible("maintenance, edit")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Save window").click()
    assert "timezone" in page.get_by_role("alert").inner_text()
    accessible("maintenance, edit refused")

    page.goto("/dashboard/teams")
    accessible("teams")
    page.get_by_role("link", name="payments").click()
    page.get_by_role("button", name="Rotate ping key").click()
    assert "shown this once" in page.get_by_role("status").inner_text()
    accessible("team with its new ping key")

    page.goto("/dashboard/routing")
    page.get_by_label("Target name").fill("chat")
    page.get_by_label("Kind").select_option("webhook")
    page.get_by_label("Config (JSON)").fill(json.dumps({"url": "https://hooks.example.com/x"}))
    page.get_by_role("button", name="Create target").click()
    page.get_by_label("Policy name").fill("default")
    page.get_by_label("Rules (JSON)").fill(json.dumps([{"targets": ["chat"]}]))
    page.get_by_role("button", name="Create policy").click()
    page.get_by_label("Service").fill("billing-worker")
    page.get_by_role("button", name="Preview").click()
    assert page.locator("ol.told li").all_inner_texts() == ["chat"]
    accessible("routing with a preview")
    page.get_by_role("link", name="default", exact=True).click()
    accessible("routing policy")

    page.goto("/dashboard/keys")
    accessible("keys")
    page.get_by_label("Name", exact=True).fill("ci")
    page.get_by_label("write", exact=True).check()
    page.get_by_role("button", name="Create key").click()
    accessible("keys, one shown")
    context.close()
    assert problems == []
