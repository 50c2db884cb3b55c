"""The MCP endpoint on the API: streamable HTTP at /mcp, bearer API keys.

Stateless and answering in JSON: every request carries its key and is served by
whichever replica receives it (`medic api` runs several behind a load balancer), and
nothing is pushed from server to client, which Medic's tools never need.

DNS-rebinding protection accepts the host of MEDIC_BASE_URL and loopback names only.

The MCP SDK and the server's tools are loaded by the first request to /mcp, not at
start: they cost a process about 16 MB, which a Medic whose assistants never call it
(and every `medic api` worker until one does) need not carry.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup, TaskStatus
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from medic.mcp_server.rate_limit import KeyRateLimit
from medic.process import MedicProcess

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.request_state import RequestStateSecurity
    from mcp.server.transport_security import TransportSecuritySettings

PATH = "/mcp"
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def transport_security(base_url: str) -> TransportSecuritySettings:
    from mcp.server.transport_security import TransportSecuritySettings

    parts = urlsplit(base_url)
    public = parts.netloc.rsplit("@", 1)[-1]  # host[:port], without user info
    host = public if parts.port is None else public[: -len(str(parts.port)) - 1]
    hosts = [public, host, f"{host}:*", *LOOPBACK, *(f"{name}:*" for name in LOOPBACK)]
    origins = [
        f"{parts.scheme}://{public}",
        *(f"{scheme}://{name}:*" for scheme in ("http", "https") for name in LOOPBACK),
    ]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=sorted(set(hosts)),
        allowed_origins=sorted(set(origins)),
    )


def request_state_security(secrets_key: bytes | None) -> RequestStateSecurity | None:
    """What seals the state a 2026-07-28 client echoes back while it answers a question
    (medic.mcp_server.confirm): a key derived from MEDIC_SECRETS_KEY, so that any
    replica accepts the retry; without one, the SDK's key of this process only."""
    from mcp.server.request_state import RequestStateSecurity

    if secrets_key is None:
        return None
    derived = hmac.new(secrets_key, b"medic mcp request state", hashlib.sha256).digest()
    return RequestStateSecurity(keys=[derived])


class McpEndpoint:
    """One API app's MCP server; enter `running()` in the app's lifespan. The server is
    built, and its session manager started inside `running()`, by the first request."""

    def __init__(self, medic: MedicProcess) -> None:
        self.medic = medic
        self.server: MCPServer | None = None
        self.app: ASGIApp | None = None
        self._building = anyio.Lock()
        self._task_group: TaskGroup | None = None
        self._stopping: anyio.Event | None = None

    def _build(self) -> tuple[MCPServer, ASGIApp]:
        from mcp.server.auth.settings import AuthSettings

        from medic.mcp_server.auth import REQUIRED_SCOPE, ApiKeyVerifier, token_actor
        from medic.mcp_server.backend import Backend
        from medic.mcp_server.server import build_server

        base = self.medic.settings.medic_base_url.rstrip("/")
        server = build_server(
            Backend(self.medic.db, self.medic.settings, token_actor),
            token_verifier=ApiKeyVerifier(self.medic),
            # Medic has no OAuth server, so it advertises none: no RFC 9728 metadata, no
            # `resource_metadata` in the 401 challenge (clients would try OAuth on it).
            # The issuer is required by the SDK and, without those, never published.
            auth=AuthSettings(
                issuer_url=base,
                resource_server_url=None,
                required_scopes=[REQUIRED_SCOPE],
            ),
            request_state_security=request_state_security(self.medic.settings.secrets_key_bytes),
        )
        app = server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            json_response=True,
            transport_security=transport_security(base),
        )
        return server, app

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            async with self._building:
                if self.app is None:
                    if self._task_group is None:
                        raise RuntimeError("the MCP endpoint serves inside running()")
                    # Imports take a second or two: off the event loop, which keeps
                    # answering heartbeats meanwhile.
                    server, app = await anyio.to_thread.run_sync(self._build)
                    await self._task_group.start(self._run_sessions, server)
                    self.server, self.app = server, app
        await self.app(scope, receive, send)

    async def _run_sessions(self, server: MCPServer, *, task_status: TaskStatus[Any]) -> None:
        assert self._stopping is not None
        async with server.session_manager.run():
            task_status.started()
            await self._stopping.wait()

    def routes(self) -> list[Route]:
        """The MCP app's own path (/mcp) as an exact route into it: unlike mounting it
        at "/", it can shadow no other route."""
        return [Route(PATH, KeyRateLimit(self._serve, self.medic), name=f"mcp{PATH}")]

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as task_group:
            self._task_group, self._stopping = task_group, anyio.Event()
            try:
                yield
            finally:
                self._stopping.set()
                self._task_group = None
