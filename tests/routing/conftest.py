"""Fixtures for the routing tests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.routing.helpers import Api


@pytest.fixture
def api(client: TestClient, admin_headers: dict[str, str]) -> Api:
    return Api(client, admin_headers)


@pytest.fixture
def cli_scope() -> str:
    """Teams, targets, routing and working hours are configured with an admin key."""
    return "admin"
