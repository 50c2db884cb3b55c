"""Fixtures for the agent's protocol: a secrets key (agent steps may carry secrets),
an enrolled host, and a fake agent that polls and reports through the real API."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import auth

SECRETS_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"medic_secrets_key": SECRETS_KEY, "medic_agent_recheck_seconds": 0.2}


@dataclass
class FakeAgent:
    """What medic-agent sends, made by hand: a poll that does not wait, a report."""

    client: TestClient
    host: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.key)

    def poll(self, wait: int = 0) -> dict[str, Any] | None:
        response = self.client.get(
            f"/v2/agent/jobs?wait={wait}&version=0.1.0", headers=self.headers
        )
        assert response.status_code == 200, response.text
        job: dict[str, Any] | None = response.json()["results"]["job"]
        return job

    def report(self, job_id: int, expect: int = 200, **body: Any) -> dict[str, Any]:
        response = self.client.post(
            f"/v2/agent/jobs/{job_id}/result", json=body, headers=self.headers
        )
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def enroll(client: TestClient, admin_headers: dict[str, str]) -> Callable[..., FakeAgent]:
    def enroll_host(host: str = "web-1", **body: Any) -> FakeAgent:
        response = client.post("/v2/agents", json={"host": host, **body}, headers=admin_headers)
        assert response.status_code == 201, response.text
        return FakeAgent(client, host, response.json()["results"]["key"])

    return enroll_host
