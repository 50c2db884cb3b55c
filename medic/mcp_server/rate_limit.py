"""The rate limit on /mcp: what an assistant's session costs.

An MCP session sends many protocol messages that read nothing (initialize, the
initialized notification, ping, the tools/resources/prompts listings). Those are free.
What reads or changes Medic's data, a tool call, a resource read, a prompt (the triage
prompt lists the open alerts), counts against the key's own MCP bucket
(MEDIC_RATE_LIMIT_MCP_TOOLS a minute), separate from its REST management limit, so a
triage conversation is limited by the work it does and a tool-call flood still gets
429 with Retry-After.

The body is read once here (within MEDIC_MAX_BODY_BYTES, which the outer middleware
enforces too) and handed on unchanged. Whatever cannot be classified (not JSON, nested
too deep, not a JSON-RPC request, an unknown method) counts like a tool call: the SDK
answers it with a JSON-RPC error, and a flood of it is limited like any other.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medic.ops.errors import RateLimited, Unauthorized
from medic.process import MedicProcess
from medic.ratelimit import MCP_TOOLS
from medic.web.envelope import failure
from medic.web.identity import client_address, enforce_rate_limit, identify, presented_key

# Protocol messages that read no data: free. Every other method is counted.
FREE_METHODS = frozenset(
    {
        "initialize",
        "ping",
        "logging/setLevel",
        "server/discover",
        "tools/list",
        "resources/list",
        "resources/templates/list",
        "prompts/list",
    }
)


def _counted(message: Any) -> bool:
    """A JSON-RPC message that costs: a request or notification whose method is not free.
    A response or error from the client (no method) answers the server and is free."""
    if not isinstance(message, dict):
        return True
    if "method" not in message:
        return "result" not in message and "error" not in message
    method = message["method"]
    if not isinstance(method, str):
        return True
    return method not in FREE_METHODS and not method.startswith("notifications/")


def counted_calls(body: bytes) -> int:
    """How many of the messages in a POST body count against the MCP bucket: one body
    holds one message, or a JSON-RPC batch (a JSON array) whose every counted message
    counts; MCP dropped batches (the SDK answers 400), so a batch counts at least one.
    An unparseable body counts as one."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return 1
    if isinstance(parsed, list):
        return max(1, sum(1 for message in parsed if _counted(message)))
    return 1 if _counted(parsed) else 0


async def read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    """The whole request body and the messages it came in, to replay."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks), messages


def replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands out `messages` first, then the connection's own."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class KeyRateLimit:
    """Counts each /mcp POST's tool calls against its key's MCP bucket (X-RateLimit-*
    headers on counted requests; over it, 429 with Retry-After). A key that does not
    verify goes on to the SDK's 401; GET and DELETE carry no calls."""

    def __init__(self, app: ASGIApp, medic: MedicProcess) -> None:
        self.app = app
        self.medic = medic

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        presented = presented_key(request)
        if presented is None:
            await self.app(scope, receive, send)
            return
        try:
            identity = await identify(self.medic, presented, client_address(request))
        except Unauthorized:
            await self.app(scope, receive, send)
            return
        except RateLimited as exc:
            await failure(exc.message, exc.status_code, exc.headers)(scope, receive, send)
            return
        body, messages = await read_body(receive)
        calls = counted_calls(body)
        if calls:
            try:
                await enforce_rate_limit(
                    request, self.medic, MCP_TOOLS, f"key:{identity.api_key_id}", None, calls
                )
            except RateLimited as exc:
                await failure(exc.message, exc.status_code, exc.headers)(scope, receive, send)
                return
        await self.app(scope, replaying(messages, receive), send)
