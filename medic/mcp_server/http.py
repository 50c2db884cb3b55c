"""The MCP endpoint on the API: streamable HTTP at /mcp, bearer API keys.

Stateless and answering in JSON: every request carries its key and is served by
whichever replica receives it (`medic api` runs several behind a load balancer), and
nothing is pushed from server to client, which Medic's tools never need.

DNS-rebinding protection accepts the host of MEDIC_BASE_URL and loopback names only.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from urllib.parse import urlsplit

from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route

from medic.mcp_server.auth import REQUIRED_SCOPE, ApiKeyVerifier, KeyRateLimit, token_actor
from medic.mcp_server.backend import Backend
from medic.mcp_server.server import build_server
from medic.process import MedicProcess

PATH = "/mcp"
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def transport_security(base_url: str) -> TransportSecuritySettings:
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


class McpEndpoint:
    """One API app's MCP server; enter `running()` in the app's lifespan."""

    def __init__(self, medic: MedicProcess) -> None:
        self.medic = medic
        base = medic.settings.medic_base_url.rstrip("/")
        self.server = build_server(
            Backend(medic.db, medic.settings, token_actor),
            token_verifier=ApiKeyVerifier(medic),
            # Medic has no OAuth server, so it advertises none: no RFC 9728 metadata, no
            # `resource_metadata` in the 401 challenge (clients would try OAuth on it).
            # The issuer is required by the SDK and, without those, never published.
            auth=AuthSettings(
                issuer_url=base,
                resource_server_url=None,
                required_scopes=[REQUIRED_SCOPE],
            ),
        )
        self.app = self.server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            json_response=True,
            transport_security=transport_security(base),
        )

    def routes(self) -> list[Route]:
        """The MCP app's own path (/mcp) as an exact route into it: unlike mounting it
        at "/", it can shadow no other route."""
        limited = KeyRateLimit(self.app, self.medic)
        return [
            Route(route.path, limited, name=f"mcp{route.path}")
            for route in self.app.routes
            if isinstance(route, Route)
        ]

    def running(self) -> AbstractAsyncContextManager[None]:
        return self.server.session_manager.run()
