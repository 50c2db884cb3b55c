"""How a tool function becomes an MCP tool: Medic's errors mapped to tool errors, a
title and annotations. Its docstring is the description the model reads.

Arguments are exactly the declared ones: the SDK builds each tool's argument model
from the function's signature and ignores names it does not know, so a model that
sends `{"service": "x", "admin": true}` would be answered as if it sent the service
alone. Here the model forbids them: an unknown argument is a tool error naming it, and
the published input schema says `additionalProperties: false`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.types import ToolAnnotations
from pydantic import ConfigDict

from medic.mcp_server.errors import tool_errors


def define(fn: Callable[..., Any], title: str, annotations: ToolAnnotations) -> Tool:
    tool = Tool.from_function(tool_errors(fn), title=title, annotations=annotations)
    tool.fn_metadata.arg_model = strict = _strict(tool.fn_metadata.arg_model)
    tool.parameters = strict.model_json_schema(by_alias=True)
    return tool


def _strict(arguments: type[ArgModelBase]) -> type[ArgModelBase]:
    """The SDK's argument model, refusing arguments it does not declare."""
    namespace = {
        "__module__": arguments.__module__,
        "__doc__": arguments.__doc__,
        "model_config": ConfigDict(**{**arguments.model_config, "extra": "forbid"}),
    }
    return type(arguments.__name__, (arguments,), namespace)
