"""Executions: list them, to find one's id (get_execution, in tools.playbooks, shows one
with each step's output)."""

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from pydantic import AwareDatetime, Field

from medic.mcp_server.backend import backend_of
from medic.mcp_server.inputs import Offset, page_size
from medic.mcp_server.schemas import ExecutionItem, ExecutionList
from medic.mcp_server.tools.define import define
from medic.mcp_server.tools.hints import READ
from medic.ops import execution_list
from medic.ops.execution_list import ListExecutions

Text = Annotated[str, Field(min_length=1, max_length=255)]
State = Literal["pending_approval", "running", "waiting", "completed", "failed", "cancelled"]


def list_executions(
    ctx: Context,
    playbook: Annotated[Text | None, Field(description="only this playbook's runs")] = None,
    service: Annotated[
        Text | None, Field(description="only runs on this service (heartbeat name or id)")
    ] = None,
    state: Annotated[State | None, Field(description="only runs in this state")] = None,
    requester: Annotated[
        Text | None,
        Field(description="only runs requested by this key's name, slack:<user> or medic"),
    ] = None,
    since: Annotated[
        AwareDatetime | None, Field(description="requested at or after (ISO 8601 with offset)")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Field(description="requested before (ISO 8601 with offset)")
    ] = None,
    limit: Annotated[int, page_size(20, 200)] = 20,
    offset: Offset = 0,
) -> ExecutionList:
    """Playbook executions, newest first: which playbook ran on which service, who
    requested it, its state and error. Use get_execution with an execution_id for each
    step's outcome and output."""
    query = ListExecutions.of(
        playbook=playbook,
        service=service,
        state=state,
        requester=requester,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    rows, total = execution_list.list_executions(backend_of(ctx).context(), query)
    return ExecutionList(items=[ExecutionItem.of(row) for row in rows], total=total)


def tools() -> list[Tool]:
    return [define(list_executions, "List executions", READ)]
