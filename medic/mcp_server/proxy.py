"""`medic mcp` with MEDIC_URL: a stdio MCP server that forwards every request to a
remote Medic's /mcp endpoint with the bearer key.

Two MCP connections, each negotiated on its own (the assistant's over stdio, Medic's
over HTTP): listings, tool calls, resources and prompts are passed through unchanged,
so the remote's tools, scopes, audit entries (front door `mcp`) and errors are exactly
what a direct HTTP client gets. Nothing here knows Medic's tools.
"""

from __future__ import annotations

from typing import Any

import httpx2
import mcp.types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from medic import __version__
from medic.mcp_server.errors import StartupError

Context = ServerRequestContext[Any]
TIMEOUT = httpx2.Timeout(30, read=300)


def relay(remote: Client) -> Server[Any]:
    """A low-level server whose every handler asks `remote`."""

    async def list_tools(
        _ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return await remote.list_tools(cursor=params.cursor if params else None)

    async def call_tool(_ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await remote.call_tool(params.name, params.arguments)

    async def list_resources(
        _ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return await remote.list_resources(cursor=params.cursor if params else None)

    async def list_resource_templates(
        _ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return await remote.list_resource_templates(cursor=params.cursor if params else None)

    async def read_resource(
        _ctx: Context, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        return await remote.read_resource(str(params.uri))

    async def list_prompts(
        _ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        return await remote.list_prompts(cursor=params.cursor if params else None)

    async def get_prompt(
        _ctx: Context, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        return await remote.get_prompt(params.name, params.arguments)

    return Server(
        "medic",
        version=__version__,
        title="Medic",
        instructions=remote.instructions,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_resource_templates,
        on_read_resource=read_resource,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )


async def serve_remote(url: str, key: str) -> None:
    endpoint = url.rstrip("/") + "/mcp"
    headers = {"Authorization": f"Bearer {key}"}
    refusals: list[int] = []

    async def note_refusal(response: httpx2.Response) -> None:
        if response.status_code in (401, 403):
            refusals.append(response.status_code)

    hooks = {"response": [note_refusal]}
    async with httpx2.AsyncClient(headers=headers, timeout=TIMEOUT, event_hooks=hooks) as http:
        remote = Client(streamable_http_client(endpoint, http_client=http), cache=None)
        try:
            await remote.__aenter__()
        except Exception as exc:
            reason = f"it refused MEDIC_API_KEY (HTTP {refusals[0]})" if refusals else _reason(exc)
            raise StartupError(f"cannot connect to {endpoint}: {reason}") from None
        try:
            server = relay(remote)
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())
        finally:
            await remote.__aexit__(None, None, None)


def _reason(exc: BaseException) -> str:
    """The innermost cause of a failed connection, usually an HTTP status or refusal."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"
