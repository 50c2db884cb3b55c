"""Tool results that carry links to Medic's pages, for the user to open.

The structured result stays what the tool's output schema says; the content adds, after
its JSON text, `resource_link` blocks to the dashboard pages of what the call touched
(an execution, a service). Addresses come from medic.core.links only, so they change in
one place. An approval page's link is never given: its token is a capability, and a
model has no use for it (the human approves in Slack or on the dashboard).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from mcp.types import CallToolResult, ResourceLink, TextContent
from pydantic import BaseModel

from medic.core.links import execution_page, service_page

# A window over every service links to none of them; one over a few links to each.
MAX_LINKS = 10


def execution_link(base_url: str, execution_id: int, playbook: str) -> ResourceLink:
    return ResourceLink(
        uri=execution_page(base_url, execution_id),
        name=f"execution-{execution_id}",
        title=f"Execution #{execution_id} ({playbook}) in Medic's dashboard",
        mime_type="text/html",
    )


def service_link(base_url: str, heartbeat_name: str) -> ResourceLink:
    return ResourceLink(
        uri=service_page(base_url, heartbeat_name),
        name=f"service-{heartbeat_name}",
        title=f"Service {heartbeat_name} in Medic's dashboard",
        mime_type="text/html",
    )


def with_links(result: BaseModel, links: Iterable[ResourceLink]) -> CallToolResult:
    """`result` as the SDK would render it (structured, and as JSON text), plus links."""
    structured = result.model_dump(mode="json", by_alias=True)
    text = TextContent(type="text", text=json.dumps(structured, indent=2))
    shown = list(links)[:MAX_LINKS]
    return CallToolResult(content=[text, *shown], structured_content=structured)
