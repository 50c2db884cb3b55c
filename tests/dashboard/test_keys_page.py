"""The API keys page (admin): creating a key shows it this once (never in a redirect,
and the page is not cached), rotating shows the new one once, revoking stops it; scopes
are shown. Revoking or rotating the key of the session signs it out. A write or read
key sees no page and no control and is refused (and audited); a forged form changes
nothing; bad input is a 400 naming the field, escaped."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import ApiKey
from medic.process import MedicProcess
from tests.conftest import auth
from tests.dashboard.admin_pages import error_of
from tests.dashboard.conftest import Browser, audit_entries

SHOWN = re.compile(r'data-what="API key">(mdk_[^<]+)</code>')


def _key(medic: MedicProcess, name: str) -> ApiKey:
    with medic.db.session() as session:
        return session.exec(select(ApiKey).where(ApiKey.name == name)).one()


def test_create_shows_the_key_once_and_it_works(
    signed_in: Callable[..., Browser], medic: MedicProcess, client: TestClient
) -> None:
    browser = signed_in("admin", name="lead")
    form = {"name": "ci-deploy", "scope_write": "on", "expires_in": "90d"}
    response = browser.post("/dashboard/keys", form)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    shown = SHOWN.search(response.text)
    assert shown and "Copy it now" in response.text
    key = shown.group(1)
    assert client.get("/v2/services", headers=auth(key)).status_code == 200
    row = _key(medic, "ci-deploy")
    assert row.scopes == ["write"] and row.expires_at is not None
    page = browser.get("/dashboard/keys")
    assert key not in page.text and "ci-deploy" in page.text and row.prefix in page.text
    (entry,) = [e for e in audit_entries(medic, "api_key.create") if e.actor == "lead"]
    assert entry.front_door == "dashboard"
    assert key not in str(entry.details)


def test_rotate_then_revoke_another_key(
    signed_in: Callable[..., Browser],
    medic: MedicProcess,
    client: TestClient,
    make_key: Callable[..., str],
) -> None:
    old = make_key("read", name="grafana")
    browser = signed_in("admin")
    key_id = _key(medic, "grafana").api_key_id
    response = browser.post(f"/dashboard/keys/{key_id}/rotate")
    assert response.status_code == 200
    shown = SHOWN.search(response.text)
    assert shown and "The old key stopped working." in response.text
    assert client.get("/v2/services", headers=auth(old)).status_code == 401
    assert client.get("/v2/services", headers=auth(shown.group(1))).status_code == 200

    response = browser.post(f"/dashboard/keys/{key_id}/revoke")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/keys"
    assert client.get("/v2/services", headers=auth(shown.group(1))).status_code == 401
    page = browser.get("/dashboard/keys")
    assert "Key revoked." in page.text and "revoked 2" in page.text
    assert [e.front_door for e in audit_entries(medic, "api_key.revoke")] == ["dashboard"]


def test_revoking_the_sessions_own_key_signs_it_out(
    signed_in: Callable[..., Browser], medic: MedicProcess
) -> None:
    browser = signed_in("admin", name="me")
    response = browser.post(f"/dashboard/keys/{_key(medic, 'me').api_key_id}/revoke")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/sign-in"
    assert browser.get("/dashboard/keys").status_code == 303  # to the sign-in page
    assert _key(medic, "me").revoked_at is not None


def test_rotating_the_sessions_own_key_shows_it_and_signs_out(
    signed_in: Callable[..., Browser], medic: MedicProcess
) -> None:
    browser = signed_in("admin", name="me")
    response = browser.post(f"/dashboard/keys/{_key(medic, 'me').api_key_id}/rotate")
    assert response.status_code == 200 and SHOWN.search(response.text)
    assert "Sign in with the new key" in response.text
    browser.client.cookies.clear()
    assert browser.sign_in(SHOWN.search(response.text).group(1)).status_code == 303  # type: ignore[union-attr]


@pytest.mark.parametrize("scope", ["read", "write"])
def test_a_lesser_key_sees_no_page_and_is_refused_and_audited(
    signed_in: Callable[..., Browser],
    medic: MedicProcess,
    make_key: Callable[..., str],
    scope: str,
) -> None:
    make_key("read", name="grafana")
    victim = _key(medic, "grafana").api_key_id
    browser = signed_in(scope, name="mallory")
    assert 'href="/dashboard/keys"' not in browser.get("/dashboard/services").text
    assert browser.get("/dashboard/keys").status_code == 403
    for path, action in (
        ("/dashboard/keys", "api_key.create"),
        (f"/dashboard/keys/{victim}/rotate", "api_key.rotate"),
        (f"/dashboard/keys/{victim}/revoke", "api_key.revoke"),
    ):
        response = browser.post(path, {"name": "backdoor", "scope_admin": "on"})
        assert response.status_code == 403, path
        assert "mdk_" not in response.text
        (entry,) = [e for e in audit_entries(medic, action) if e.outcome == "refused"]
        assert (entry.actor, entry.front_door) == ("mallory", "dashboard")
    assert _key(medic, "grafana").revoked_at is None


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_forged_form_changes_nothing(
    signed_in: Callable[..., Browser],
    medic: MedicProcess,
    make_key: Callable[..., str],
    token: str | None,
) -> None:
    make_key("read", name="grafana")
    victim = _key(medic, "grafana").api_key_id
    browser = signed_in("admin")
    for path in ("/dashboard/keys", f"/dashboard/keys/{victim}/revoke"):
        response = browser.post(path, {"name": "backdoor", "scope_admin": "on"}, csrf=token)
        assert response.status_code == 403
    assert _key(medic, "grafana").revoked_at is None
    assert [e for e in audit_entries(medic, "api_key.create") if e.front_door == "dashboard"] == []


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": "<script>x</script>:evil", "scope_read": "on"}, "name"),
        ({"name": "ok", "scope_read": "on", "expires_in": "<b>never</b>"}, "expires_in"),
        ({"name": "ok"}, "scopes"),
        ({"name": "ok", "scope_agent": "on", "scope_read": "on"}, "scopes"),
        ({"name": "ok", "scope_read": "on", "host": "<i>box</i>"}, "host"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_escaped(
    signed_in: Callable[..., Browser], medic: MedicProcess, form: dict[str, str], field: str
) -> None:
    response = signed_in("admin").post("/dashboard/keys", form)
    assert response.status_code == 400, response.text
    assert field in error_of(response.text)
    for tag in ("<script>x", "<b>never", "<i>box"):
        assert tag not in response.text
    assert SHOWN.search(response.text) is None
    with medic.db.session() as session:
        assert session.exec(select(ApiKey).where(ApiKey.name == "ok")).first() is None
