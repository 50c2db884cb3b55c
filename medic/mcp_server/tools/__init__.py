"""The MCP tools, one module per subject. Every tool is a thin adapter: parse the
arguments, call one operation with the calling key's Actor, render the result.
Authorization, validation and the audit entry happen in medic.ops, as for REST."""

from __future__ import annotations

from functools import cache

from mcp.server.mcpserver.tools import Tool

from medic.mcp_server.tools import agents, alerts, executions, playbooks, services, silencing


@cache
def all_tools() -> tuple[Tool, ...]:
    """Built once per process and shared by every server (see medic.mcp_server.backend)."""
    return tuple(
        tool
        for module in (services, alerts, silencing, playbooks, executions, agents)
        for tool in module.tools()
    )
