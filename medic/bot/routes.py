"""`POST /slack/events`: slash commands, button clicks and events share one URL.

No API key here: bolt verifies Slack's signature (and refuses requests more than five
minutes old). Without SLACK_SIGNING_SECRET nothing can be verified, so every request
is refused with a 503 that says what to set; it never falls back to unverified.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

from medic.bot.app import build_slack_app
from medic.process import MedicProcess
from medic.web.envelope import failure

NOT_CONFIGURED = (
    "Slack is not configured on this Medic: set SLACK_SIGNING_SECRET (and SLACK_BOT_TOKEN) "
    "to accept Slack requests; see docs/slack.md"
)


def slack_router(medic: MedicProcess) -> APIRouter:
    router = APIRouter(tags=["slack"])
    handler = (
        AsyncSlackRequestHandler(build_slack_app(medic))
        if medic.settings.slack_signing_secret
        else None
    )

    @router.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        if handler is None:
            return failure(NOT_CONFIGURED, 503)
        return await handler.handle(request)

    return router
