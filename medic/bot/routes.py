"""`POST /slack/events`: slash commands, button clicks and events share one URL.

No API key here: bolt verifies Slack's signature (and refuses requests more than five
minutes old). Without SLACK_SIGNING_SECRET nothing can be verified, so every request
is refused with a 404 that says what to set (a route that is off does not exist; 503
would tell Slack to retry); it never falls back to unverified.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from medic.process import MedicProcess
from medic.web.envelope import failure

NOT_CONFIGURED = (
    "Slack is not configured on this Medic: set SLACK_SIGNING_SECRET (and SLACK_BOT_TOKEN) "
    "to accept Slack requests; see docs/slack.md"
)


def slack_router(medic: MedicProcess) -> APIRouter:
    router = APIRouter(tags=["slack"])
    handler = None
    if medic.settings.slack_signing_secret:
        # Imported only by a Medic that talks to Slack: bolt and aiohttp cost a process
        # about 16 MB.
        from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

        from medic.bot.app import build_slack_app

        handler = AsyncSlackRequestHandler(build_slack_app(medic))

    @router.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        if handler is None:
            return failure(NOT_CONFIGURED, 404)
        return await handler.handle(request)

    return router
