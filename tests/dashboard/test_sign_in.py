"""Signing in to the dashboard with an API key: a server-side session in an HttpOnly,
SameSite cookie (Secure behind https) that ends when it expires, at sign-out, or when
its key is revoked or rotated; an invalid key, a key without `read`, or a forged form
starts nothing."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from medic.app import create_app
from medic.ops import keys
from medic.ops.actor import cli_operator
from medic.process import MedicProcess
from tests.dashboard.conftest import Browser, audit_entries, csrf_of
from tests.support import Clock


def test_the_root_leads_to_the_sign_in_page_without_a_session(browser: Browser) -> None:
    response = browser.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/sign-in"
    page = browser.get("/dashboard/sign-in")
    assert '<label for="api-key">API key</label>' in page.text
    assert '<button type="submit">Sign in</button>' in page.text
    assert (
        browser.get("/dashboard/services")
        .headers["location"]
        .startswith("/dashboard/sign-in?next=")
    )


def test_a_valid_key_starts_a_session_in_a_safe_cookie_and_is_audited(
    browser: Browser, make_key: Callable[..., str], medic: MedicProcess
) -> None:
    response = browser.sign_in(make_key("read", name="viewer"))
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/services"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("medic_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "expires=" in cookie
    assert "Secure" not in cookie  # plain http here
    assert browser.get("/").headers["location"] == "/dashboard/services"
    page = browser.get("/dashboard/services")
    assert page.status_code == 200 and "Signed in as <strong>viewer</strong>" in page.text
    (entry,) = audit_entries(medic, "dashboard.sign_in")
    assert (entry.actor, entry.front_door, entry.outcome) == ("viewer", "dashboard", "success")


def test_an_invalid_key_shows_an_error_and_starts_nothing(browser: Browser) -> None:
    for key in ("mdk_aaaaaaaaaaaa_nothing", "not a key"):
        response = browser.sign_in(key)
        assert response.status_code == 401
        assert "Not signed in: invalid API key" in response.text
        assert "medic_session" not in response.headers.get("set-cookie", "")
    assert browser.get("/dashboard/services").status_code == 303


def test_a_key_without_read_cannot_sign_in(
    browser: Browser, make_key: Callable[..., str], medic: MedicProcess
) -> None:
    response = browser.sign_in(make_key("ingest", name="cron"))
    assert response.status_code == 403
    assert "read" in response.text
    (entry,) = audit_entries(medic, "dashboard.sign_in")
    assert (entry.actor, entry.front_door, entry.outcome) == ("cron", "dashboard", "refused")


def test_the_sign_in_form_refuses_a_post_without_its_own_token(
    client: TestClient, make_key: Callable[..., str]
) -> None:
    key = make_key("admin")
    forged = client.post("/dashboard/sign-in", data={"api_key": key}, follow_redirects=False)
    assert forged.status_code == 403
    client.get("/dashboard/sign-in")  # sets the cookie, but the form's copy is missing
    forged = client.post(
        "/dashboard/sign-in", data={"api_key": key, "csrf_token": "guess"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert client.get("/dashboard/services", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_session_for_good(
    browser: Browser, make_key: Callable[..., str], medic: MedicProcess
) -> None:
    browser.sign_in(make_key("read"))
    token = browser.client.cookies.get("medic_session")
    response = browser.post("/dashboard/sign-out")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/sign-in"
    assert browser.get("/dashboard/services").status_code == 303
    browser.client.cookies.set("medic_session", token)  # replaying the old cookie
    assert browser.get("/dashboard/services").status_code == 303
    assert [e.outcome for e in audit_entries(medic, "dashboard.sign_out")] == ["success"]


def test_revoking_or_rotating_the_key_ends_its_sessions(
    browser: Browser, make_key: Callable[..., str], medic: MedicProcess
) -> None:
    operator = medic.context(cli_operator())
    for change in (keys.rotate_key, keys.revoke_key):
        name = f"key-for-{change.__name__}"
        browser.sign_in(make_key("read", name=name))
        assert browser.get("/dashboard/services").status_code == 200
        command = keys.RotateKey.of(key=name) if change is keys.rotate_key else None
        change(operator, command or keys.RevokeKey.of(key=name))
        assert browser.get("/dashboard/services").status_code == 303, change.__name__


def test_a_session_expires(browser: Browser, make_key: Callable[..., str], clock: Clock) -> None:
    browser.sign_in(make_key("read"))
    assert browser.get("/dashboard/services").status_code == 200
    clock.advance(hours=13)
    assert browser.get("/dashboard/services").status_code == 303


def test_the_session_cookie_is_secure_behind_https(
    medic: MedicProcess, make_key: Callable[..., str]
) -> None:
    with TestClient(create_app(medic=medic), base_url="https://medic.test") as client:
        page = client.get("/dashboard/sign-in")
        response = client.post(
            "/dashboard/sign-in",
            data={"api_key": make_key("read"), "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
    assert response.status_code == 303
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("medic_session=")
    )
    assert "Secure" in cookie


def test_sign_in_goes_back_to_a_dashboard_page_and_nowhere_else(
    browser: Browser, make_key: Callable[..., str]
) -> None:
    key = make_key("read")
    assert browser.sign_in(key, "/dashboard/services/new").headers["location"] == (
        "/dashboard/services/new"
    )
    for elsewhere in ("https://evil.example/", "//evil.example/dashboard/", "/v2/services"):
        browser.client.cookies.clear()
        assert browser.sign_in(key, elsewhere).headers["location"] == "/dashboard/services"
