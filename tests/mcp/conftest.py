"""Fixtures for the MCP server, driven through the official MCP client (ClientSession):

* `medic_server`: the real API (create_app) served by uvicorn on 127.0.0.1, a free
  port, in a thread; `/mcp` on it is what an assistant's HTTP client talks to.
* `connect(key)`: a ClientSession over streamable HTTP to that server, as `key`.
* `spawn(key, **env)`: `medic mcp` started as a subprocess (the console script), with
  the environment pointing at this test's database; a ClientSession over its stdio.

Every wait is bounded: uvicorn's start and stop, the subprocess, each MCP request.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.session import ElicitationFnT
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

from medic.config import Settings
from medic.models import Alert, Service
from medic.ops import services
from medic.ops.actor import cli_operator
from medic.ops.service_commands import RegisterService
from medic.process import MedicProcess
from tests.mcp_client import REQUEST_TIMEOUT

# Every tool the server offers: what each test expects to find listed.
READS = {
    "list_services",
    "get_service",
    "get_heartbeats",
    "service_stats",
    "list_alerts",
    "list_playbooks",
    "get_execution",
    "list_executions",
    "list_agents",
}
CHANGES = {
    "acknowledge_alert",
    "mute_service",
    "unmute_service",
    "create_maintenance_window",
    "execute_playbook",
    "approve_execution",
    "decline_execution",
}
TOOLS = READS | CHANGES

MEDIC = str(Path(sys.executable).with_name("medic"))
Spawn = Callable[..., AbstractAsyncContextManager[ClientSession]]


def medic_env(settings: Settings, key: str | None, **extra: str) -> dict[str, str]:
    """What `medic mcp` reads: this test's database and settings, and the key."""
    env = {
        "DATABASE_URL": str(settings.database_url),
        "MEDIC_TIMEZONE": settings.medic_timezone,
        "MEDIC_BASE_URL": settings.medic_base_url,
        "MEDIC_RATE_LIMITER_TYPE": "memory",
        "LOG_LEVEL": "WARNING",
        "MEDIC_URL": "",
    }
    if key is not None:
        env["MEDIC_API_KEY"] = key
    return {**env, **extra}


@pytest.fixture
def spawn(settings: Settings, tmp_path: Path) -> Spawn:
    """`medic mcp` as an assistant starts it (cwd without a .env file)."""

    @asynccontextmanager
    async def session(
        key: str, elicit: ElicitationFnT | None = None, **extra: str
    ) -> AsyncIterator[ClientSession]:
        params = StdioServerParameters(
            command=MEDIC, args=["mcp"], env=medic_env(settings, key, **extra), cwd=tmp_path
        )
        async with (
            stdio_client(params) as (read, write),
            ClientSession(
                read, write, read_timeout_seconds=REQUEST_TIMEOUT, elicitation_callback=elicit
            ) as client,
        ):
            await client.initialize()
            yield client

    return session


@pytest.fixture
def add_service(medic: MedicProcess) -> Callable[..., Service]:
    """Register a service through the operations layer (as an operator would)."""

    def add(name: str = "nightly-backup", **fields: Any) -> Service:
        spec = RegisterService.of(heartbeat_name=name, alert_interval=5, **fields)
        return services.register(medic.context(cli_operator()), spec)[0]

    return add


@pytest.fixture
def open_alert(medic: MedicProcess) -> Callable[[Service], int]:
    """An open alert on a service, as detection writes it."""

    def open_one(service: Service) -> int:
        with medic.db.session() as session:
            alert = Alert(service_id=service.service_id, active=True, alert_name="late heartbeat")
            session.add(alert)
            session.flush()
            assert alert.alert_id is not None
            return alert.alert_id

    return open_one


def result(answer: CallToolResult) -> dict[str, Any]:
    """A successful tool call's structured content."""
    assert not answer.is_error, answer.content
    assert answer.structured_content is not None
    return answer.structured_content


def error(answer: CallToolResult) -> str:
    """A failed tool call's message."""
    assert answer.is_error, answer.structured_content
    return " ".join(getattr(block, "text", "") for block in answer.content)
