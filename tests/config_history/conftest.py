"""Fixtures for the configuration history tests: an admin's view and one per key scope."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.config_history.helpers import History


@pytest.fixture
def admin(client: TestClient, admin_headers: dict[str, str]) -> History:
    return History(client, admin_headers)


@pytest.fixture
def writer(client: TestClient, write_headers: dict[str, str]) -> History:
    return History(client, write_headers)


@pytest.fixture
def reader(client: TestClient, read_headers: dict[str, str]) -> History:
    return History(client, read_headers)
