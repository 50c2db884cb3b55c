"""The issue's "done when": an MCP client configured as docs/mcp.md says, against a
real `medic up` (the embedded default: SQLite, in-process broker, its own process):
stdio `medic mcp` relayed with MEDIC_URL + MEDIC_API_KEY, and streamable HTTP at /mcp
with the bearer key. Both list the tools and use them; the audit log says who did."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.mcp.conftest import MEDIC, TOOLS, error, result
from tests.mcp_client import REQUEST_TIMEOUT
from tests.processes import MedicUp, wait_for

PLAYBOOK = """
name: restart-backup-runner
approval: none
steps:
  - name: settle
    type: wait
    duration: 1s
"""


@pytest.mark.anyio
async def test_an_assistant_configured_from_the_docs_uses_medic_up(
    medic_up: MedicUp, tmp_path: Path
) -> None:
    medic_up.results(
        "POST", "/v2/services", json={"heartbeat_name": "nightly-backup", "alert_interval": 60}
    )
    medic_up.results(
        "POST",
        "/v2/playbooks",
        content=PLAYBOOK,
        headers={"Content-Type": "application/yaml"},
    )
    key = medic_up.results(
        "POST", "/v2/keys", json={"name": "claude-assistant", "scopes": ["write"]}
    )
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

    assert len(tools) == len(TOOLS) and "mute_service" in tools
    assert [s["heartbeat_name"] for s in listed["items"]] == ["nightly-backup"]
    assert muted["muted"] is True
    assert requested["approval_required"] is True
    assert requested["execution"]["state"] == "pending_approval"
    assert "approving over MCP is off" in own  # MEDIC_MCP_MAY_APPROVE is false by default

    medic_up.results("POST", f"/v2/executions/{execution_id}/approve")
    done = wait_for(
        "the approved execution completed by medic up's workers",
        lambda: medic_up.results("GET", f"/v2/executions/{execution_id}")["state"] == "completed",
        30,
    )
    assert done
    audit = medic_up.results("GET", "/v2/audit", params={"actor": "claude-assistant"})["items"]
    assert {(e["action"], e["front_door"], e["outcome"]) for e in audit} == {
        ("service.mute", "mcp", "success"),
        ("execution.start", "mcp", "success"),
        ("execution.approve", "mcp", "refused"),
    }
