"""The default management limit fits a person at work: the README's walkthrough ("Using
it"), then a working session of CLI commands, with the first admin key and the shipped
rate-limit settings, gets no 429 (the old default of 20 a minute stopped it at the 13th
call). A flood of MCP tool calls still gets 429: tests/mcp/test_http_rate_limit.py."""

from __future__ import annotations

import os
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medic.config import Settings
from tests.cli import Run

LIMITS = (
    "medic_rate_limit_heartbeats",
    "medic_rate_limit_management",
    "medic_rate_limit_mcp_tools",
    "medic_rate_limit_auth_failures",
)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """The shipped defaults (the test settings raise them all)."""
    return {name: Settings.model_fields[name].default for name in LIMITS}


@pytest.fixture
def cli_scope() -> str:
    return "admin"


def test_the_readme_walkthrough_and_a_cli_session_get_no_429(
    client: TestClient, medic_cli: Run
) -> None:
    key = os.environ["MEDIC_API_KEY"]  # the CLI's admin key: one key for the whole session
    bearer = {"Authorization": f"Bearer {key}"}

    def call(method: str, path: str, **kwargs: Any) -> Any:
        answer = client.request(method, path, **kwargs)
        assert answer.status_code < 300, (method, path, answer.status_code, answer.text)
        return answer

    # The README's "Using it" walkthrough, in order.
    call(
        "POST",
        "/service",
        headers=bearer,
        json={"heartbeat_name": "nightly-etl", "service_name": "etl", "alert_interval": 5},
    )
    call(
        "POST",
        "/heartbeat",
        headers={"X-API-Key": key},
        json={"heartbeat_name": "nightly-etl", "status": "UP"},
    )
    call(
        "POST",
        "/v2/heartbeats",
        headers=bearer,
        json={"heartbeat_name": "nightly-etl", "status": "COMPLETED", "run_id": "2026-11-23"},
    )
    [service] = call("GET", "/v2/services", headers=bearer).json()["results"]["items"]
    ping = "/ping/" + service["ping_url"].rsplit("/ping/", 1)[1]
    call("GET", ping)
    call("GET", f"{ping}/start?rid=run-1")
    call("POST", f"{ping}/0", content=b"backup done")
    sid = service["service_id"]
    call("GET", f"/v2/services/{sid}/stats", headers=bearer)
    call("GET", f"/v2/services/{sid}/history", headers=bearer)
    window = {
        "name": "db patching",
        "service_ids": [sid],
        "cron_expression": "0 2 * * 0",
        "duration_minutes": 120,
        "timezone": "America/New_York",
    }
    call("POST", "/v2/maintenance-windows", headers=bearer, json=window)
    call("POST", f"/v2/services/{sid}/mute", headers=bearer, json={"duration": "1h"})
    call("POST", f"/v2/services/{sid}/unmute", headers=bearer)

    # Then an hour's work at the terminal, squeezed into a minute.
    for _ in range(3):
        medic_cli("service", "list")
        medic_cli("service", "get", "nightly-etl")
        medic_cli("service", "stats", "nightly-etl")
        medic_cli("service", "history", "nightly-etl")
        medic_cli("heartbeat", "list", "--name", "nightly-etl")
        medic_cli("service", "mute", "nightly-etl", "--duration", "2h", "--reason", "deploying")
        medic_cli("service", "unmute", "nightly-etl")
        medic_cli("maintenance", "list")
        medic_cli("alert", "list")
        medic_cli("playbook", "list")
        medic_cli("audit", "list")

    last = call("GET", "/v2/services", headers=bearer)
    used = 300 - int(last.headers["X-RateLimit-Remaining"])
    assert last.headers["X-RateLimit-Limit"] == "300"
    assert used >= 40, f"the session made only {used} management calls"
