"""Dependencies and repeats through the other doors: the CLI sets, shows and clears a
service's `depends_on` (a cycle refused, naming it) and a target's `repeat_every`;
MCP's service view shows `depends_on`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from medic.ops import services
from medic.ops.actor import cli_operator
from medic.ops.service_commands import RegisterService
from medic.process import MedicProcess
from tests.cli import Run
from tests.mcp.conftest import result
from tests.mcp_client import Connect

Register = Callable[..., dict[str, Any]]


@pytest.fixture
def cli_scope() -> str:
    return "admin"  # targets are configuration of trust


def test_the_cli_sets_and_clears_dependencies_and_repeats(
    medic_cli: Run, register: Register
) -> None:
    register("db", alert_interval=1)
    register("api", alert_interval=1)
    out = medic_cli("service", "update", "api", "--depends-on", "db").output
    assert "depends_on: ['db']" in out
    refused = medic_cli("service", "update", "db", "--depends-on", "api", code=1)
    assert "cycle: db → api → db" in refused.output
    assert "depends_on: []" in medic_cli("service", "update", "api", "--no-dependencies").output

    created = medic_cli(
        "target",
        "create",
        "hooks",
        "--kind",
        "webhook",
        "--set",
        "url=https://example.com/h",
        "--repeat-every",
        "90m",
        "--json",
    ).output
    assert '"repeat_every": "1h30m"' in created
    updated = medic_cli("target", "update", "hooks", "--repeat-every", "", "--json").output
    assert '"repeat_every": null' in updated
    refused = medic_cli("target", "update", "hooks", "--repeat-every", "10s", code=1)
    assert "repeat_every must be at least 1m" in refused.output


@pytest.mark.anyio
async def test_mcp_shows_what_a_service_depends_on(
    connect: Connect, make_key: Callable[..., str], medic: MedicProcess
) -> None:
    context = medic.context(cli_operator())
    services.register(context, RegisterService.of(heartbeat_name="db", alert_interval=1))
    spec = RegisterService.of(heartbeat_name="api", alert_interval=1, depends_on=["DB"])
    services.register(context, spec)
    async with connect(make_key("read")) as mcp:
        shown = result(await mcp.call_tool("get_service", {"service": "api"}))
    assert shown["depends_on"] == ["db"]
