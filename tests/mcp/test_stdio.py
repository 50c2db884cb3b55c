"""`medic mcp`, started as an assistant starts it: a subprocess speaking MCP on stdio,
acting as MEDIC_API_KEY, against the database, or relayed to MEDIC_URL's /mcp."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from medic.config import Settings
from medic.models import Service
from medic.ops import audit_log, playbooks
from medic.ops.actor import cli_operator
from medic.ops.operation import Context
from medic.process import MedicProcess
from tests.mcp.conftest import MEDIC, TOOLS, Spawn, error, medic_env, result

NO_DATABASE = "postgresql://nobody@127.0.0.1:1/nothing"
PLAYBOOK = """
name: restart-worker
approval: none
steps:
  - name: restart
    type: webhook
    url: "https://hooks.example.com/restart"
"""


def _mcp_audit(medic: MedicProcess) -> list[tuple[str, str]]:
    query = audit_log.ListEntries.of(front_door="mcp")
    rows, _ = audit_log.list_entries(medic.context(cli_operator()), query)
    return [(entry.action, entry.actor) for entry in reversed(rows)]


@pytest.mark.anyio
async def test_medic_mcp_acts_as_its_key_against_the_database(
    medic: MedicProcess,
    spawn: Spawn,
    make_key: Callable[..., str],
    add_service: Callable[..., Service],
) -> None:
    add_service("nightly-backup")
    async with spawn(make_key("write", name="laptop-assistant")) as mcp:
        tools = (await mcp.list_tools()).tools
        muted = result(
            await mcp.call_tool(
                "mute_service", {"service": "nightly-backup", "duration": "2h", "reason": "deploy"}
            )
        )
        result(await mcp.call_tool("unmute_service", {"service": "nightly-backup"}))
        unknown = error(await mcp.call_tool("get_service", {"service": "ghost"}))

    assert len(tools) == len(TOOLS)
    assert muted["muted"] is True
    assert "no service 'ghost' is registered" in unknown
    assert _mcp_audit(medic) == [
        ("service.mute", "laptop-assistant"),
        ("service.unmute", "laptop-assistant"),
    ]


@pytest.mark.anyio
async def test_medic_mcp_follows_medic_mcp_approval_from_its_environment(
    medic: MedicProcess,
    spawn: Spawn,
    make_key: Callable[..., str],
    add_service: Callable[..., Service],
) -> None:
    add_service("worker-1")
    command = playbooks.ApplyPlaybook.of(source_yaml=PLAYBOOK)
    playbooks.apply_playbook(Context(medic.db, cli_operator()), command)
    arguments = {"playbook": "restart-worker", "service": "worker-1", "reason": "stuck"}
    async with spawn(make_key("write"), MEDIC_MCP_APPROVAL="playbook") as mcp:
        requested = result(await mcp.call_tool("execute_playbook", arguments))

    assert requested["approval_required"] is False
    assert requested["execution"]["state"] == "running"


@pytest.mark.anyio
async def test_with_medic_url_it_relays_to_the_remote_mcp_endpoint(
    medic: MedicProcess,
    spawn: Spawn,
    medic_server: str,
    make_key: Callable[..., str],
    add_service: Callable[..., Service],
) -> None:
    add_service("nightly-backup")
    remote = {"MEDIC_URL": medic_server, "DATABASE_URL": NO_DATABASE}
    async with spawn(make_key("write", name="remote-assistant"), **remote) as mcp:
        tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
        result(
            await mcp.call_tool(
                "mute_service", {"service": "nightly-backup", "duration": "1h", "reason": "deploy"}
            )
        )
        bad = error(
            await mcp.call_tool(
                "mute_service", {"service": "nightly-backup", "duration": "forever", "reason": "x"}
            )
        )
        status = await mcp.read_resource("medic://services/nightly-backup")
        prompt = await mcp.get_prompt("triage", {})
    async with spawn(make_key("read", name="remote-reader"), **remote) as reader:
        refused = error(await reader.call_tool("unmute_service", {"service": "nightly-backup"}))

    assert len(tools) == len(TOOLS) and tools["mute_service"].annotations.destructive_hint is True
    assert "invalid duration 'forever'" in bad
    assert '"muted":true' in status.contents[0].text
    assert "no open alerts" in prompt.messages[0].content.text
    assert "forbidden" in refused and "'remote-reader'" in refused
    # The refusal is audited too: the declared operation records who tried, and where.
    assert _mcp_audit(medic) == [
        ("service.mute", "remote-assistant"),
        ("service.unmute", "remote-reader"),
    ]


def _start(settings: Settings, tmp_path: Path, key: str | None, **extra: str) -> tuple[int, str]:
    environment = {"PATH": os.environ.get("PATH", ""), **medic_env(settings, key, **extra)}
    finished = subprocess.run(
        [MEDIC, "mcp"],
        env=environment,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return finished.returncode, finished.stderr


def test_medic_mcp_refuses_to_start_without_a_valid_key(
    settings: Settings, tmp_path: Path, make_key: Callable[..., str]
) -> None:
    assert _start(settings, tmp_path, None) == (
        2,
        "medic mcp: set MEDIC_API_KEY to the API key the assistant acts as\n",
    )
    code, stderr = _start(settings, tmp_path, "mdk_abcdefghijkl_not-a-key")
    assert (code, stderr) == (2, "medic mcp: MEDIC_API_KEY: invalid API key\n")


def test_the_relay_refuses_to_start_when_the_remote_refuses_its_key(
    settings: Settings, tmp_path: Path, medic_server: str
) -> None:
    code, stderr = _start(settings, tmp_path, "mdk_abcdefghijkl_not-a-key", MEDIC_URL=medic_server)
    assert code == 2
    assert stderr == (
        f"medic mcp: cannot connect to {medic_server}/mcp: it refused MEDIC_API_KEY (HTTP 401)\n"
    )
