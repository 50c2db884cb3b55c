"""Agents (SRE-21): which hosts run medic-agent, and when each last polled."""

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from pydantic import BaseModel, Field

from medic.mcp_server.backend import backend_of
from medic.mcp_server.tools.define import define
from medic.mcp_server.tools.hints import READ
from medic.ops import agents
from medic.ops.agents import AgentView, GetAgent, ListAgents


class AgentList(BaseModel):
    items: list[AgentView]


def list_agents(
    ctx: Context,
    host: Annotated[
        str | None, Field(description="only this host's agent (its host name); null: all")
    ] = None,
) -> AgentList:
    """The hosts whose medic-agent runs playbooks' `agent` steps: each with its service
    (its polls are that service's heartbeat, so `service_state` down means the agent
    stopped polling), its last contact, its version, whether it is revoked, and the
    counters it last reported (scripts run and refused)."""
    context = backend_of(ctx).context()
    if host is not None:
        return AgentList(items=[agents.get_agent(context, GetAgent.of(host=host))])
    return AgentList(items=agents.list_agents(context, ListAgents.of()))


def tools() -> list[Tool]:
    return [define(list_agents, "List agents", READ)]
