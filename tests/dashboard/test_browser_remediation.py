"""The remediation pages in a real browser (chromium, Playwright), on SQLite: an admin
writes a playbook with a mistake and sees it at its line, fixes and saves it; approves
an execution waiting for a decision; downloads the audit log as CSV. axe-core finds no
serious or critical accessibility violation on any of these pages."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from medic.app import create_app
from medic.models import Execution
from medic.ops import executions, playbooks, services
from medic.ops.actor import cli_operator
from medic.ops.executions import ExecutePlaybook
from medic.ops.playbooks import ApplyPlaybook
from medic.ops.service_commands import RegisterService
from medic.process import MedicProcess
from tests.dashboard.browser import serious_violations
from tests.dashboard.remediation import PLAYBOOK
from tests.processes import serving

pytestmark = pytest.mark.slow

BROKEN = """name: restart-api
approval: timeout:10m
steps:
  - name: restart
    type: webhook
    url: https://heal.example/restart
  - name: settle
    type: wait
    duration: soon
"""


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def base_url(medic: MedicProcess) -> Iterator[str]:
    with serving(create_app(medic=medic)) as url:
        yield url


@pytest.fixture
def pending(medic: MedicProcess) -> int:
    """An execution waiting for approval, requested by `test-writer` on the CLI (no
    TestClient here: the served app is the only one running)."""
    context = medic.context(cli_operator("test-writer"))
    services.create(context, RegisterService.of(heartbeat_name="worker-1", alert_interval=5))
    source = PLAYBOOK.format(url="https://heal.example")
    playbooks.apply_playbook(context, ApplyPlaybook.of(source_yaml=source))
    command = ExecutePlaybook.of(playbook="restart-worker", service="worker-1", reason="stuck")
    return executions.execute_playbook(context, command).execution_id


@pytest.fixture
def admin_page(chromium: Any, base_url: str, make_key: Callable[..., str]) -> Iterator[Any]:
    """A signed-in admin's page (CSP bypassed so that axe-core can be injected)."""
    context = chromium.new_context(base_url=base_url, bypass_csp=True, accept_downloads=True)
    page = context.new_page()
    page.goto("/dashboard/sign-in")
    page.get_by_label("API key").fill(make_key("admin", name="on-call-lead"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/services")
    yield page
    context.close()


def _checker(page: Any, axe_source: str) -> tuple[list[str], Callable[[str], None]]:
    problems: list[str] = []

    def accessible(where: str) -> None:
        problems.extend(f"{where}: {v}" for v in serious_violations(page, axe_source))

    return problems, accessible


def test_a_playbook_with_a_mistake_shows_it_at_its_line_then_saves(
    admin_page: Any, axe_source: str
) -> None:
    page = admin_page
    problems, accessible = _checker(page, axe_source)
    page.get_by_role("link", name="Playbooks").click()
    page.wait_for_url("**/dashboard/playbooks")
    accessible("playbooks, empty")
    page.get_by_role("link", name="New playbook").click()
    accessible("new playbook")
    page.get_by_label("YAML", exact=True).fill(BROKEN)
    page.get_by_role("button", name="Save").click()
    assert "Not saved" in page.get_by_role("alert").inner_text()
    listed = page.locator(".problems li").all_inner_texts()
    assert any(item.startswith("Line 9: steps[1].duration") for item in listed), listed
    assert "duration: soon" in page.locator("#line-9").inner_text()
    accessible("editor with problems")

    page.get_by_label("YAML", exact=True).fill(BROKEN.replace("duration: soon", "duration: 30s"))
    page.get_by_role("button", name="Check").click()
    assert "No problem found" in page.get_by_role("status").inner_text()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/dashboard/playbooks/restart-api")
    assert page.get_by_role("status").inner_text() == "Created restart-api (version 1)."
    accessible("a playbook")

    page.get_by_label("Edit the YAML", exact=True).fill(
        BROKEN.replace("duration: soon", "duration: 1m").replace("10m", "20m")
    )
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/dashboard/playbooks/restart-api")
    page.get_by_role("link", name="against version 1").click()
    assert "+approval: timeout:20m" in page.locator("pre.diff").inner_text()
    accessible("a version with its diff")
    page.get_by_role("link", name="Playbooks", exact=True).click()
    accessible("playbooks")
    assert problems == []


def test_an_approver_approves_an_execution(
    admin_page: Any, axe_source: str, pending: int, medic: MedicProcess
) -> None:
    page = admin_page
    problems, accessible = _checker(page, axe_source)
    page.get_by_role("link", name="Executions").click()
    page.wait_for_url("**/dashboard/executions")
    accessible("executions")
    page.get_by_label("State").select_option("pending_approval")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=f"#{pending}", exact=True).click()
    page.wait_for_url(f"**/dashboard/executions/{pending}")
    decision = page.locator(".decision").inner_text()
    assert "test-writer" in decision and "worker-1" in decision and "restart" in decision
    assert "stuck" in page.locator(".facts").inner_text()
    accessible("an execution waiting")
    page.get_by_role("button", name="Approve").click()
    assert page.get_by_role("status").inner_text() == "Approved: it runs now."
    assert page.get_by_role("button", name="Approve").count() == 0
    with medic.db.session() as session:
        assert session.get(Execution, pending).state == "running"  # type: ignore[union-attr]
    accessible("an execution approved")
    assert problems == []


def test_the_audit_log_downloads_as_csv(admin_page: Any, axe_source: str, tmp_path: Path) -> None:
    page = admin_page
    problems, accessible = _checker(page, axe_source)
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url("**/dashboard/audit")
    accessible("audit log")
    page.get_by_label("Action").fill("dashboard.sign_in")
    page.get_by_role("button", name="Filter").click()
    assert re.search(r"^1 entry", page.locator("caption").inner_text())
    accessible("audit log, filtered")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename == "medic-audit.csv"
    saved = tmp_path / "audit.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert [(row["actor"], row["action"]) for row in rows] == [
        ("on-call-lead", "dashboard.sign_in")
    ]
    assert problems == []
