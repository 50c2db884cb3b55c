"""The routing page: notification targets (secrets masked as the API masks them, never
shown again) and routing policies, configured by admin keys as front door `dashboard`,
and the preview of who is told about a service at an instant. A read key sees no
control and is refused (and audited); a forged form changes nothing; bad input is a
400 naming the field, escaped."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from medic.models import NotificationTarget, RoutingPolicy
from medic.process import MedicProcess
from tests.dashboard.admin_pages import error_of
from tests.dashboard.conftest import Browser, audit_entries

HEADER_SECRET = "Bearer s3cr3t-t0ken-value-9876"
ROUTING_KEY = "R0UT1NGKEYabcdefghijklmnop123456"
WEBHOOK = {
    "form": "target",
    "name": "chat",
    "kind": "webhook",
    "config": json.dumps(
        {"url": "https://hooks.example.com/medic", "headers": {"Authorization": HEADER_SECRET}}
    ),
    "enabled": "on",
}
PAGER = {
    "form": "target",
    "name": "oncall-pager",
    "kind": "pagerduty",
    "config": json.dumps({"routing_key": ROUTING_KEY}),
    "enabled": "on",
}
RULES = [{"targets": ["oncall-pager"], "priorities": ["p1"]}, {"targets": ["chat"]}]
DEFAULT = {"form": "policy", "name": "default", "mode": "all", "rules": json.dumps(RULES)}


def _configure(browser: Browser) -> None:
    for path, form in (
        ("/dashboard/routing/targets", WEBHOOK),
        ("/dashboard/routing/targets", PAGER),
        ("/dashboard/routing/policies", DEFAULT),
    ):
        response = browser.post(path, form)
        assert response.status_code == 303, response.text


def _targets(medic: MedicProcess) -> dict[str, NotificationTarget]:
    with medic.db.session() as session:
        return {t.name: t for t in session.exec(select(NotificationTarget))}


def test_targets_and_a_policy_are_configured_and_secrets_never_shown(
    signed_in: Callable[..., Browser], medic: MedicProcess
) -> None:
    browser = signed_in("admin", name="lead")
    _configure(browser)
    assert _targets(medic)["chat"].config["headers"]["Authorization"] == HEADER_SECRET
    page = browser.get("/dashboard/routing")
    assert page.status_code == 200
    assert HEADER_SECRET not in page.text and ROUTING_KEY not in page.text
    assert "••••3456" in page.text  # masked as the API masks it
    assert 'href="/dashboard/routing/policies/default"' in page.text
    for action in ("target.create", "routing_policy.create"):
        assert {(e.actor, e.front_door) for e in audit_entries(medic, action)} == {
            ("lead", "dashboard")
        }
    for entry in audit_entries(medic, "target.create"):
        assert HEADER_SECRET not in str(entry.details) and ROUTING_KEY not in str(entry.details)


def test_the_preview_says_who_is_told(
    signed_in: Callable[..., Browser], register: Callable[..., dict[str, Any]]
) -> None:
    register("billing-worker", priority="p1")
    register("email-digest", priority="p4")
    browser = signed_in("admin")
    _configure(browser)
    page = browser.get("/dashboard/routing?service=billing-worker")
    assert page.status_code == 200
    assert "Policy <strong>default</strong>" in page.text
    assert '<ol class="told"><li>oncall-pager</li><li>chat</li></ol>' in page.text
    page = browser.get(
        "/dashboard/routing?service=email-digest&at=2030-07-01T09:30&timezone=Asia/Tokyo"
    )
    assert '<ol class="told"><li>chat</li></ol>' in page.text
    assert "2030-07-01 00:30:00 UTC" in page.text  # 09:30 in Tokyo

    assert (
        browser.post("/dashboard/routing/targets/chat/enabled", {"enabled": "false"}).status_code
        == 303
    )
    page = browser.get("/dashboard/routing?service=email-digest")
    assert "Nobody is told." in page.text and "not told: chat" in page.text


def test_editing_and_deleting_a_policy(
    signed_in: Callable[..., Browser], medic: MedicProcess
) -> None:
    browser = signed_in("admin")
    _configure(browser)
    page = browser.get("/dashboard/routing/policies/default")
    assert page.status_code == 200 and "oncall-pager" in page.text
    rules = json.dumps([{"targets": ["chat", "oncall-pager"]}])
    changed = {"mode": "first_success", "rules": rules}
    assert browser.post("/dashboard/routing/policies/default", changed).status_code == 303
    with medic.db.session() as session:
        policy = session.exec(select(RoutingPolicy)).one()
    assert policy.mode == "first_success" and policy.rules[0]["targets"] == ["chat", "oncall-pager"]
    response = browser.post("/dashboard/routing/targets/chat/delete")
    assert response.status_code == 409 and "used by routing" in error_of(response.text)
    assert browser.post("/dashboard/routing/policies/default/delete").status_code == 303
    assert browser.post("/dashboard/routing/targets/chat/delete").status_code == 303
    assert "chat" not in _targets(medic)


def test_a_read_key_sees_no_control_and_is_refused_and_audited(
    signed_in: Callable[..., Browser],
    medic: MedicProcess,
    register: Callable[..., dict[str, Any]],
) -> None:
    register("billing-worker", priority="p1")
    admin = signed_in("admin")
    _configure(admin)
    admin.client.cookies.clear()
    browser = signed_in("read", name="viewer")
    page = browser.get("/dashboard/routing?service=billing-worker")
    assert page.status_code == 200 and "oncall-pager" in page.text  # the preview is a read
    assert 'method="post" action="/dashboard/routing' not in page.text
    assert HEADER_SECRET not in page.text and ROUTING_KEY not in page.text
    for path, form, action in (
        ("/dashboard/routing/targets", {**WEBHOOK, "name": "other"}, "target.create"),
        ("/dashboard/routing/targets/chat/enabled", {"enabled": "false"}, "target.update"),
        ("/dashboard/routing/targets/chat/delete", {}, "target.delete"),
        ("/dashboard/routing/policies", {**DEFAULT, "name": "other"}, "routing_policy.create"),
        ("/dashboard/routing/policies/default", DEFAULT, "routing_policy.update"),
        ("/dashboard/routing/policies/default/delete", {}, "routing_policy.delete"),
    ):
        assert browser.post(path, form).status_code == 403, path
        refused = [(e.actor, e.front_door, e.outcome) for e in audit_entries(medic, action)]
        assert ("viewer", "dashboard", "refused") in refused, path
    assert _targets(medic)["chat"].enabled and "other" not in _targets(medic)


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_forged_form_changes_nothing(
    signed_in: Callable[..., Browser], medic: MedicProcess, token: str | None
) -> None:
    browser = signed_in("admin")
    _configure(browser)
    response = browser.post(
        "/dashboard/routing/targets/chat/enabled", {"enabled": "false"}, csrf=token
    )
    assert response.status_code == 403
    assert (
        browser.post("/dashboard/routing/targets", {**WEBHOOK, "name": "x"}, csrf=token).status_code
        == 403
    )
    assert _targets(medic)["chat"].enabled and "x" not in _targets(medic)


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        ("/dashboard/routing/targets", {**WEBHOOK, "config": "{<script>"}, "config"),
        (
            "/dashboard/routing/targets",
            {**WEBHOOK, "config": '{"url": "javascript:<b>x</b>"}'},
            "config",
        ),
        ("/dashboard/routing/targets", {**WEBHOOK, "kind": "<i>carrier-pigeon</i>"}, "kind"),
        (
            "/dashboard/routing/policies",
            {**DEFAULT, "rules": '[{"targets": ["<s>nobody</s>"]}]'},
            "rules",
        ),
        ("/dashboard/routing/policies", {**DEFAULT, "mode": "<u>some</u>"}, "mode"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_escaped(
    signed_in: Callable[..., Browser],
    medic: MedicProcess,
    path: str,
    form: dict[str, str],
    field: str,
) -> None:
    response = signed_in("admin").post(path, form)
    assert response.status_code == 400
    assert field in error_of(response.text)
    for tag in ("<script>", "<b>x", "<i>carrier", "<s>nobody", "<u>some"):
        assert tag not in response.text
    assert _targets(medic) == {}


def test_a_bad_preview_time_is_a_400_naming_it(
    signed_in: Callable[..., Browser], register: Callable[..., dict[str, Any]]
) -> None:
    register("billing-worker")
    browser = signed_in("read")
    page = browser.get("/dashboard/routing?service=billing-worker&at=<script>now")
    assert page.status_code == 400 and error_of(page.text).startswith("at")
    assert "<script>now" not in page.text
    page = browser.get("/dashboard/routing?service=billing-worker&timezone=Nowhere/<b>")
    assert page.status_code == 400 and error_of(page.text).startswith("timezone")
    page = browser.get("/dashboard/routing?service=nobody")
    assert page.status_code == 404
