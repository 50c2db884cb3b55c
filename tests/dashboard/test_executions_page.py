"""The executions pages: the list and its filters, one execution with every step's
outcome and output (escaped), and Approve / Decline through the same operations as
Slack and the approval page, so their rules hold here: a key that is not an approver,
a read key, the requester and a forged form change nothing, and are audited."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from medic.models import Execution
from medic.process import MedicProcess
from tests.dashboard.conftest import Browser, audit_entries
from tests.dashboard.remediation import HOSTILE, PLAYBOOK
from tests.fakes.receiver import Receiver
from tests.playbook_runs import Runner


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "medic_allowed_webhook_hosts": "127.0.0.1",
        "medic_secrets_key": base64.b64encode(bytes(range(32))).decode(),
    }


@pytest.fixture
def pending(
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    webhook_receiver: Receiver,
) -> int:
    """An execution of restart-worker on worker-1, waiting for approval, requested by
    the `test-writer` key for a hostile reason."""
    register("worker-1")
    apply_playbook(PLAYBOOK.format(url=webhook_receiver.url))
    started = execute("restart-worker", service="worker-1", reason=f"because {HOSTILE}")
    assert started["results"]["state"] == "pending_approval"
    return int(started["results"]["execution_id"])


def _state(medic: MedicProcess, execution_id: int) -> str:
    with medic.db.session() as session:
        execution = session.get(Execution, execution_id)
        assert execution is not None
        return execution.state


def test_the_page_shows_the_whole_request_and_an_approver_approves_it(
    signed_in: Callable[..., Browser],
    medic: MedicProcess,
    pending: int,
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    browser = signed_in("admin", name="on-call-lead")
    page = browser.get(f"/dashboard/executions/{pending}")
    assert page.status_code == 200
    text = page.text
    assert "test-writer" in text and "via api" in text  # who asked
    assert "because &lt;script&gt;alert(1)&lt;/script&gt;" in text and HOSTILE not in text
    assert "worker-1" in text and "<code>restart</code> (webhook)" in text  # on what, what
    assert "<code>required</code>" in text and "Decide before" in text  # mode, deadline
    assert f'action="/dashboard/executions/{pending}/approve"' in text

    webhook_receiver.answer(200, HOSTILE)
    response = browser.post(f"/dashboard/executions/{pending}/approve", {"version": "1"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/dashboard/executions/{pending}"
    assert _state(medic, pending) == "running"
    (entry,) = audit_entries(medic, "execution.approve")
    assert (entry.actor, entry.front_door, entry.outcome) == (
        "on-call-lead",
        "dashboard",
        "success",
    )

    runner.run(pending)
    page = browser.get(f"/dashboard/executions/{pending}")
    assert "Approved" in page.text and "state-completed" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</pre>" in page.text  # the step's output
    assert HOSTILE not in page.text
    assert "approve" not in page.text.split("<h2>Steps</h2>")[0].split("<dl")[0]


def test_decline_cancels_it(
    signed_in: Callable[..., Browser], medic: MedicProcess, pending: int
) -> None:
    browser = signed_in("admin", name="lead")
    response = browser.post(f"/dashboard/executions/{pending}/decline", {"version": "1"})
    assert response.status_code == 303
    assert _state(medic, pending) == "cancelled"
    page = browser.get(f"/dashboard/executions/{pending}")
    assert "declined by lead" in page.text and "Approve</button>" not in page.text


def test_a_key_that_is_not_an_approver_is_refused_and_audited(
    signed_in: Callable[..., Browser], medic: MedicProcess, pending: int
) -> None:
    browser = signed_in("write", name="someone")
    page = browser.get(f"/dashboard/executions/{pending}")
    assert "Approve</button>" not in page.text and "Only an approver decides" in page.text
    refused = browser.post(f"/dashboard/executions/{pending}/approve", {"version": "1"})
    assert refused.status_code == 403
    assert "Nothing changed" in refused.text and "approvers" in refused.text
    assert _state(medic, pending) == "pending_approval"
    (entry,) = audit_entries(medic, "execution.approve")
    assert (entry.actor, entry.front_door, entry.outcome) == ("someone", "dashboard", "refused")


def test_a_read_key_and_a_forged_form_decide_nothing(
    signed_in: Callable[..., Browser], medic: MedicProcess, pending: int
) -> None:
    browser = signed_in("read", name="viewer")
    assert browser.post(f"/dashboard/executions/{pending}/decline").status_code == 403
    (entry,) = audit_entries(medic, "execution.decline")
    assert (entry.actor, entry.outcome) == ("viewer", "refused")
    for forged in (None, "forged"):
        assert (
            browser.post(f"/dashboard/executions/{pending}/decline", csrf=forged).status_code == 403
        )
    assert _state(medic, pending) == "pending_approval"


def test_the_requester_cannot_approve_its_own_request(
    signed_in: Callable[..., Browser],
    medic: MedicProcess,
    execute: Callable[..., dict[str, Any]],
    pending: int,
    make_key: Callable[..., str],
) -> None:
    from tests.conftest import auth

    admin_key = make_key("admin", name="self-server")
    browser = signed_in("read")
    browser.client.cookies.clear()
    assert browser.sign_in(admin_key).status_code == 303
    own = browser.client.post(
        "/v2/playbooks/restart-worker/execute",
        json={"service": "worker-1"},
        headers=auth(admin_key),
    ).json()["results"]["execution_id"]
    refused = browser.post(f"/dashboard/executions/{own}/approve", {"version": "1"})
    assert refused.status_code == 403 and "requester" in refused.text
    assert _state(medic, own) == "pending_approval"


def test_a_decision_for_another_version_than_shown_changes_nothing(
    signed_in: Callable[..., Browser], medic: MedicProcess, pending: int
) -> None:
    browser = signed_in("admin")
    refused = browser.post(f"/dashboard/executions/{pending}/approve", {"version": "2"})
    assert refused.status_code == 409 and "version 2" in refused.text
    assert _state(medic, pending) == "pending_approval"


def test_the_list_filters_by_playbook_service_state_requester_and_period(
    signed_in: Callable[..., Browser],
    pending: int,
    register: Callable[..., dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
) -> None:
    register("worker-2")
    other = execute("restart-worker", service="worker-2")["results"]["execution_id"]
    browser = signed_in("read")
    everything = browser.get("/dashboard/executions")
    assert everything.status_code == 200 and "2 executions" in everything.text
    link = f'href="/dashboard/executions/{pending}"'
    for query, shown in [
        ("service=worker-1", True),
        ("service=worker-2", False),
        ("playbook=restart-worker", True),
        ("playbook=nothing", False),
        ("state=pending_approval", True),
        ("state=completed", False),
        ("requester=test-writer", True),
        ("requester=somebody", False),
        ("period=1h", True),
        ("until=2000-01-01", False),
    ]:
        page = browser.get(f"/dashboard/executions?{query}")
        assert page.status_code == 200, (query, page.text)
        assert (link in page.text) is shown, query
    assert (
        f'href="/dashboard/executions/{other}"'
        not in browser.get("/dashboard/executions?service=worker-1").text
    )
    bad = browser.get("/dashboard/executions?state=bogus")
    assert bad.status_code == 400 and "state" in bad.text


def test_hostile_filter_values_are_shown_as_text(signed_in: Callable[..., Browser]) -> None:
    page = signed_in("read").get("/dashboard/executions", params={"playbook": HOSTILE})
    assert page.status_code == 200 and HOSTILE not in page.text
    assert "&lt;script&gt;" in page.text


def test_an_unknown_execution_is_a_404_page(signed_in: Callable[..., Browser]) -> None:
    page = signed_in("read").get("/dashboard/executions/987654")
    assert page.status_code == 404 and "no execution with id 987654" in page.text


def test_a_notice_link_leads_through_sign_in_back_to_the_execution(
    browser: Browser, make_key: Callable[..., str], pending: int
) -> None:
    page = f"/dashboard/executions/{pending}"
    landing = browser.get(page)
    assert landing.status_code == 303
    assert (
        landing.headers["location"]
        == f"/dashboard/sign-in?next=%2Fdashboard%2Fexecutions%2F{pending}"
    )
    assert browser.sign_in(make_key("admin"), page).headers["location"] == page
    assert browser.get(page).status_code == 200


def test_sign_in_never_sends_the_visitor_to_another_site(
    browser: Browser, make_key: Callable[..., str]
) -> None:
    """Open redirects: only a dashboard path is followed; anything else lands home."""
    key = make_key("read")
    for attack in (
        "//evil.example",
        "https://evil.example",
        "/\\evil",
        "/\\\\evil.example",
        "/dashboard/..//evil.example",
        "/dashboard/\\evil.example",
        "javascript:alert(1)",
        "\t//evil.example",
    ):
        browser.client.cookies.clear()
        landed = browser.sign_in(key, attack).headers["location"]
        assert landed == "/dashboard/services", attack
        browser.client.cookies.clear()
        page = browser.get("/dashboard/sign-in", params={"next": attack})
        assert "evil" not in page.text, attack
