"""How a tool function becomes an MCP tool: Medic's errors mapped to tool errors, a
title and annotations. Its docstring is the description the model reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations

from medic.mcp_server.errors import tool_errors


def define(fn: Callable[..., Any], title: str, annotations: ToolAnnotations) -> Tool:
    return Tool.from_function(tool_errors(fn), title=title, annotations=annotations)
