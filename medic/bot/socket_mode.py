"""Socket Mode: Medic opens a WebSocket to Slack instead of Slack calling
`/slack/events`, for a Medic that Slack cannot reach (behind a firewall, on a laptop).

Needs an app-level token (SLACK_APP_TOKEN, `xapp-…`, scope connections:write) and
Socket Mode switched on in the Slack app. Requests arrive over the socket, which Slack
authenticates, so no signing secret is involved. The same bolt app serves both ways.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from medic.bot.app import build_slack_app
from medic.process import MedicProcess

log = logging.getLogger(__name__)


async def start_socket_mode(medic: MedicProcess) -> AsyncSocketModeHandler | None:
    """Connect when SLACK_APP_TOKEN is set, and return at once (None when it is not set).

    For a process that already runs an event loop (the API's lifespan): keep the
    handler and `await handler.close_async()` on shutdown."""
    token = medic.settings.slack_app_token
    if not token:
        return None
    handler = AsyncSocketModeHandler(build_slack_app(medic), app_token=token)
    await handler.connect_async()
    log.info("connected to Slack in Socket Mode")
    return handler


async def run_socket_mode(medic: MedicProcess) -> None:
    """Serve Slack over Socket Mode until cancelled (`medic slack socket`)."""
    handler = await start_socket_mode(medic)
    if handler is None:
        raise RuntimeError("SLACK_APP_TOKEN is not set; Socket Mode needs an app-level token")
    try:
        await asyncio.Event().wait()
    finally:
        await handler.close_async()
