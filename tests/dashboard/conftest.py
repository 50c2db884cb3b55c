"""Driving the dashboard over HTTP as a browser does: a session cookie, forms posted
with the CSRF token the page carries, redirects not followed (tests read them)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from medic.models import AuditEntry
from medic.process import MedicProcess

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


class Browser:
    """One browser: its own cookies. `sign_in(key)` goes through the sign-in form."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, follow_redirects=False, **kwargs)

    def sign_in(self, key: str, next_page: str | None = None) -> httpx.Response:
        page = self.get("/dashboard/sign-in")
        assert page.status_code == 200, page.text
        data = {"csrf_token": csrf_of(page.text), "api_key": key}
        if next_page:
            data["next"] = next_page
        return self.client.post("/dashboard/sign-in", data=data, follow_redirects=False)

    def csrf(self, path: str = "/dashboard/services") -> str:
        return csrf_of(self.get(path).text)

    def post(self, path: str, data: dict[str, str] | None = None, csrf: str | None = "page"):
        """POST a form; `csrf="page"` takes the token from the services page, None sends
        none, anything else is sent as is."""
        values = dict(data or {})
        if csrf == "page":
            values["csrf_token"] = self.csrf()
        elif csrf is not None:
            values["csrf_token"] = csrf
        return self.client.post(path, data=values, follow_redirects=False)


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


@pytest.fixture
def signed_in(browser: Browser, make_key: Callable[..., str]) -> Callable[..., Browser]:
    """`signed_in("write")`: the browser, signed in with a new key of that scope."""

    def sign_in(*scopes: str, name: str | None = None) -> Browser:
        response = browser.sign_in(make_key(*(scopes or ("admin",)), name=name))
        assert response.status_code == 303, response.text
        return browser

    return sign_in


def audit_entries(medic: MedicProcess, action: str) -> list[AuditEntry]:
    with medic.db.session() as session:
        return list(
            session.exec(
                select(AuditEntry)
                .where(AuditEntry.action == action)
                .order_by(col(AuditEntry.audit_id))
            )
        )


from tests.dashboard.browser import axe_source, chromium  # noqa: E402, F401  (fixtures)
