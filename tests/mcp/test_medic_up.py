"""The issue's "done when": an MCP client configured as docs/mcp.md says, against a
real `medic up` (the embedded default: SQLite, in-process broker, its own process):
stdio `medic mcp` relayed with MEDIC_URL + MEDIC_API_KEY, and streamable HTTP at /mcp
with the bearer key. Both list the tools and use them; the audit log says who did."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.mcp.conftest import MEDIC, error, result
from tests.mcp_client import REQUEST_TIMEOUT
from tests.processes import wait_for

PLAYBOOK = """
name: restart-backup-runner
approval: none
steps:
  - name: settle
    type: wait
    duration: 1s
"""


class MedicUp:
    def __init__(self, url: str, admin_key: str) -> None:
        self.url = url
        self.admin = {"Authorization": f"Bearer {admin_key}"}

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """An admin's REST call; its `results`."""
        headers = {**self.admin, **kwargs.pop("headers", {})}
        response = httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()["results"]


@pytest.fixture
def medic_up(tmp_path: Path, free_tcp_port: int) -> Iterator[MedicUp]:
    url = f"http://127.0.0.1:{free_tcp_port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL") and not key.startswith("MEDIC_")
    }
    env.update(
        MEDIC_SQLITE_PATH=str(tmp_path / "medic.db"),
        MEDIC_BASE_URL=url,
        # The test polls an execution every 20 ms; the default is 300 calls a minute.
        MEDIC_RATE_LIMIT_MANAGEMENT="100000",
    )
    log = tmp_path / "up.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [MEDIC, "up", "--host", "127.0.0.1", "--port", str(free_tcp_port)],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=output,
        )
    try:

        def ready() -> str | None:
            assert process.poll() is None, log.read_text()
            text = log.read_text(errors="replace")
            key = re.search(r"^\s+(mdk_\S+)\s*$", text, re.M)
            if key is None or "Application startup complete" not in text:
                return None
            return key.group(1)

        yield MedicUp(url, wait_for("medic up serving, its admin key printed", ready, 60))
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.anyio
async def test_an_assistant_configured_from_the_docs_uses_medic_up(
    medic_up: MedicUp, tmp_path: Path
) -> None:
    medic_up.call(
        "POST", "/v2/services", json={"heartbeat_name": "nightly-backup", "alert_interval": 60}
    )
    medic_up.call(
        "POST",
        "/v2/playbooks",
        content=PLAYBOOK,
        headers={"Content-Type": "application/yaml"},
    )
    key = medic_up.call("POST", "/v2/keys", json={"name": "claude-assistant", "scopes": ["write"]})
    # claude_desktop_config.json in docs/mcp.md: command `medic mcp`, MEDIC_URL, MEDIC_API_KEY.
    params = StdioServerParameters(
        command=MEDIC,
        args=["mcp"],
        env={
            "PATH": os.environ.get("PATH", ""),
            "MEDIC_URL": medic_up.url,
            "MEDIC_API_KEY": key["key"],
        },
        cwd=tmp_path,
    )
    async with (
        stdio_client(params) as (read, write),
        ClientSession(read, write, read_timeout_seconds=REQUEST_TIMEOUT) as assistant,
    ):
        await assistant.initialize()
        tools = [tool.name for tool in (await assistant.list_tools()).tools]
        listed = result(await assistant.call_tool("list_services", {}))
        muted = result(
            await assistant.call_tool(
                "mute_service",
                {"service": "nightly-backup", "duration": "1h", "reason": "runner restart"},
            )
        )
        requested = result(
            await assistant.call_tool(
                "execute_playbook",
                {
                    "playbook": "restart-backup-runner",
                    "service": "nightly-backup",
                    "reason": "pg_dump could not connect",
                },
            )
        )
        execution_id = requested["execution"]["execution_id"]
        own = error(await assistant.call_tool("approve_execution", {"execution_id": execution_id}))

    assert len(tools) == 14 and "mute_service" in tools
    assert [s["heartbeat_name"] for s in listed["items"]] == ["nightly-backup"]
    assert muted["muted"] is True
    assert requested["approval_required"] is True
    assert requested["execution"]["state"] == "pending_approval"
    assert "approving over MCP is off" in own  # MEDIC_MCP_MAY_APPROVE is false by default

    medic_up.call("POST", f"/v2/executions/{execution_id}/approve")
    done = wait_for(
        "the approved execution completed by medic up's workers",
        lambda: medic_up.call("GET", f"/v2/executions/{execution_id}")["state"] == "completed",
        30,
    )
    assert done
    audit = medic_up.call("GET", "/v2/audit", params={"actor": "claude-assistant"})["items"]
    assert {(e["action"], e["front_door"], e["outcome"]) for e in audit} == {
        ("service.mute", "mcp", "success"),
        ("execution.start", "mcp", "success"),
        ("execution.approve", "mcp", "refused"),
    }
