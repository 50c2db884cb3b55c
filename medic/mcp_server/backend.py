"""What every MCP tool needs: the database, the settings, and who is calling.

The caller is a function, not a value: over HTTP each request carries its own key
(read from the request's access token), over stdio the key is re-verified on every
call so a revoked key stops working within MEDIC_KEY_CACHE_SECONDS.

The server's lifespan yields its Backend, and a tool finds it through its Context.
So the tools are plain module-level functions, built into MCP tools once per process
(schema generation is the costly part) and shared by every server: tests build an
API app, and with it an MCP server, hundreds of times.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context

from medic.config import Settings
from medic.db import Database
from medic.ops.actor import Actor
from medic.ops.operation import Context as OpsContext

FRONT_DOOR = "mcp"


@dataclass(frozen=True, slots=True)
class Backend:
    db: Database
    settings: Settings
    caller: Callable[[], Actor]

    def actor(self) -> Actor:
        """The calling key as an Actor at the `mcp` front door (or Unauthorized)."""
        return self.caller()

    def context(self) -> OpsContext:
        """What an operation needs: the database and the calling key."""
        return OpsContext(self.db, self.caller())

    def lifespan(self) -> Callable[[Any], AbstractAsyncContextManager[Backend]]:
        """For MCPServer(lifespan=...): every request's context then carries this Backend."""

        @asynccontextmanager
        async def serving(_server: Any) -> AsyncIterator[Backend]:
            yield self

        return serving


def backend_of(ctx: Context) -> Backend:
    backend = ctx.request_context.lifespan_context
    assert isinstance(backend, Backend), "the server was built without build_server"
    return backend
