"""The dashboard in a real browser (chromium, Playwright), on the SQLite backend: sign
in, register a service, watch it go late, down and come back, mute it with a reason
and find the audit entry; a read-only key sees no mutating control, and a forged POST
is refused. axe-core finds no serious or critical accessibility violation on any page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from medic.app import create_app
from medic.ops import services
from medic.ops.actor import cli_operator
from medic.ops.service_commands import RegisterService
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


def _row_state(page: Any, name: str) -> str:
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))
    return row.locator(".health").inner_text().strip()


def test_an_operator_signs_in_registers_watches_and_mutes(
    chromium: Any,
    axe_source: str,
    base_url: str,
    make_key: Callable[..., str],
    clock: Clock,
    scheduler: RecordingScheduler,
) -> None:
    admin_key = make_key("admin", name="operator")
    context = chromium.new_context(base_url=base_url, bypass_csp=True)
    page = context.new_page()
    problems: list[str] = []

    def accessible(where: str) -> None:
        problems.extend(f"{where}: {v}" for v in serious_violations(page, axe_source))

    page.goto("/")
    assert page.url.endswith("/dashboard/sign-in")
    accessible("sign-in")
    page.get_by_label("API key").fill("mdk_aaaaaaaaaaaa_wrong")
    page.get_by_role("button", name="Sign in").click()
    assert "Not signed in" in page.get_by_role("alert").inner_text()
    accessible("sign-in error")

    page.get_by_label("API key").fill(admin_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/services")
    accessible("services, empty")

    page.get_by_role("link", name="Register service").click()
    page.get_by_label("Heartbeat name").fill("nightly-backup")
    page.get_by_label("Interval (minutes)").fill("1")
    page.get_by_label("Grace period (seconds)").fill("60")
    page.get_by_role("button", name="Preview deadlines").click()
    assert page.locator(".preview li").count() == 5
    accessible("register with preview")
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(re.compile(r".*/dashboard/services/\d+$"))
    service_url = page.url
    assert page.get_by_role("status").inner_text() == "Registered."
    accessible("service")

    page.goto("/dashboard/services")
    assert _row_state(page, "nightly-backup") == "new"
    clock.advance(seconds=70)  # past the interval, within the grace period
    page.reload()
    assert _row_state(page, "nightly-backup") == "late"
    clock.advance(seconds=60)
    scheduler.run_pass()
    page.reload()
    assert _row_state(page, "nightly-backup") == "down"
    accessible("services, one down")
    beat = {"heartbeat_name": "nightly-backup", "status": "UP", "message": "<b>done</b>"}
    posted = httpx.post(f"{base_url}/v2/heartbeats", json=beat, headers=auth(admin_key))
    assert posted.status_code == 201
    scheduler.run_pass()
    page.reload()
    assert _row_state(page, "nightly-backup") == "up"

    page.goto(service_url)
    assert page.locator("pre.output").inner_text() == "<b>done</b>"  # text, not markup
    page.get_by_label("Duration", exact=True).fill("2h")
    page.get_by_label("Reason", exact=True).fill("deploying the new backup tool")
    page.get_by_role("button", name="Mute", exact=True).click()
    assert page.get_by_role("status").inner_text() == "Muted."
    assert "deploying the new backup tool" in page.locator(".facts").first.inner_text()
    accessible("service, muted")

    audit = httpx.get(
        f"{base_url}/v2/audit", params={"action": "service.mute"}, headers=auth(admin_key)
    )
    (entry,) = audit.json()["results"]["items"]
    assert (entry["actor"], entry["front_door"]) == ("operator", "dashboard")
    assert entry["details"]["reason"] == "deploying the new backup tool"

    forged = page.request.post(f"{service_url}/unmute", form={"csrf_token": "forged"})
    assert forged.status == 403
    forged = page.request.post(f"{service_url}/unmute", form={})
    assert forged.status == 403
    page.reload()
    assert page.get_by_role("button", name="Unmute").count() == 1  # still muted
    context.close()
    assert problems == []


def test_a_read_only_key_sees_no_mutating_control_and_a_forged_post_is_refused(
    chromium: Any,
    axe_source: str,
    base_url: str,
    make_key: Callable[..., str],
    medic: MedicProcess,
) -> None:
    """Without bypassing CSP: the pages run under their own policy with no violation."""
    command = RegisterService.of(heartbeat_name="nightly-backup", alert_interval=5)
    service = services.create(medic.context(cli_operator()), command).model_dump()
    context = chromium.new_context(base_url=base_url)
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto("/dashboard/sign-in")
    page.get_by_label("API key").fill(make_key("read", name="viewer"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/services")
    assert page.get_by_role("link", name="Register service").count() == 0

    page.get_by_role("link", name="nightly-backup").click()
    page.wait_for_url(f"**/dashboard/services/{service['service_id']}")
    for control in ("Mute", "Unmute", "Open maintenance window", "Rotate badge URLs"):
        assert page.get_by_role("button", name=control).count() == 0, control
    assert page.locator("form[method=post]").count() == 1  # sign out only
    assert service["uuid"] not in page.content()  # no ping URL for a read key

    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    url = f"/dashboard/services/{service['service_id']}/mute"
    refused = page.request.post(url, form={"csrf_token": token, "duration": "1h"})
    assert refused.status == 403  # a valid token, but a read key
    assert page.request.post(url, form={"duration": "1h"}).status == 403
    assert console_errors == []
    context.close()
