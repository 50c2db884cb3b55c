"""The ASGI application: the HTTP doors (API, Slack events, MCP, approval page,
dashboard) on one FastAPI app, with error mapping, middleware and lifecycle. The one
place that mounts them together, so the doors themselves never import each other."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from medic import __version__
from medic.api import approvals, errors, health, heartbeat_central, ping, v1, v2
from medic.api.v2 import heartbeat_route
from medic.bot.routes import slack_router
from medic.config import Settings
from medic.dashboard import mount as dashboard
from medic.garbage_collection import tune_for_serving
from medic.hardening import harden_process, quiet_http_loggers
from medic.mcp_server.http import McpEndpoint
from medic.process import MedicProcess
from medic.web.middleware import MedicMiddleware

log = logging.getLogger(__name__)

DESCRIPTION = """Heartbeat monitor and dead man's switch.

Every route except `/health*`, `/metrics`, `/v1/healthcheck/network` and the ping URLs
needs an API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`.
Answers use the envelope `{"success", "message", "results"}`.
"""


def _operation_id(route: APIRoute) -> str:
    """Unique per path and method set (ping routes answer GET, HEAD and POST)."""
    methods = "_".join(sorted(route.methods or ()))
    return re.sub(r"\W", "_", f"{route.name}{route.path_format}_{methods}").lower()


async def _slack_socket_mode(medic: MedicProcess) -> Any:
    """With SLACK_APP_TOKEN, also take Slack's requests over Socket Mode. Slack being
    unreachable must not keep the API from serving heartbeats."""
    if not medic.settings.slack_app_token:
        return None
    from medic.bot.socket_mode import start_socket_mode

    try:
        return await start_socket_mode(medic)
    except Exception:
        log.exception("could not connect to Slack in Socket Mode; serving without it")
        return None


def create_app(settings: Settings | None = None, medic: MedicProcess | None = None) -> FastAPI:
    """The app. Called with nothing (uvicorn's factory, in each `medic api` worker), it
    reads the settings from the environment and then hardens its process: secrets leave
    the environment and the process is not dumpable (medic.hardening)."""
    quiet_http_loggers()
    serving = medic is None and settings is None
    if medic is None:
        from medic.config import get_settings

        if settings is None:
            settings = get_settings()
            harden_process()
        medic = MedicProcess(settings)
    mcp = McpEndpoint(medic)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await medic.start()
        health.active_alerts.medic = medic
        socket = await _slack_socket_mode(medic)
        try:
            async with mcp.running():
                yield
        finally:
            if socket is not None:
                await socket.close_async()
            await medic.stop()

    app = FastAPI(
        title="Medic",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.medic = medic
    errors.install(app)
    # Routes are matched in order: the heartbeat paths (v1, ping) come first.
    app.include_router(health.router)
    app.include_router(v1.router)
    app.include_router(ping.router)
    app.include_router(heartbeat_central.router)
    app.include_router(v2.router)
    app.include_router(v1.router, prefix="/v1")
    app.include_router(slack_router(medic))
    app.include_router(approvals.router)
    dashboard.install(app)
    # Last, and as exact paths (/mcp and its metadata), never a catch-all mount.
    app.router.routes.extend(mcp.routes())
    # First: POST /v2/heartbeats as a plain route (medic.api.v2.heartbeat_route says why).
    app.router.routes.insert(0, heartbeat_route.ROUTE)
    app.add_middleware(MedicMiddleware, max_body_bytes=medic.settings.medic_max_body_bytes)
    if serving:
        tune_for_serving()
    return app
