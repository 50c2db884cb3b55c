"""The bolt app: `/medic`, the alert and approval buttons and @-mentions, over HTTP or
Socket Mode.

Slack wants an answer within 3 s. A command's database work runs in a worker thread;
if it is done within ACK_BUDGET_SECONDS the result is the HTTP answer itself, else
Slack gets "working on it" at once and the result follows through the response URL.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient
from starlette.concurrency import run_in_threadpool

from medic.bot import interactions
from medic.bot.commands import HELP_TEXT, parse
from medic.bot.handlers import Reply, run_command
from medic.process import MedicProcess

log = logging.getLogger(__name__)
COMMAND = "/medic"
ACK_BUDGET_SECONDS = 2.0
WORKING = ":hourglass_flowing_sand: Working on it…"
FAILED = ":boom: Medic could not do that (an internal error was logged); please try again."


def build_slack_app(medic: MedicProcess) -> AsyncApp:
    """One bolt app per Medic runtime; verification uses SLACK_SIGNING_SECRET.

    The HTTP route refuses every request while no signing secret is set
    (medic.bot.routes), so the empty secret below is only ever used by Socket Mode,
    where Slack's WebSocket, not a signature, authenticates the requests."""
    settings = medic.settings

    async def authorize(
        enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        # A single workspace with a static bot token: no auth.test round trip.
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            bot_token=settings.slack_api_token,
        )

    app = AsyncApp(
        name="medic",
        client=AsyncWebClient(
            base_url=settings.slack_api_base_url,
            timeout=settings.medic_notify_timeout_seconds,  # type: ignore[arg-type]
        ),
        signing_secret=settings.slack_signing_secret or "",
        authorize=authorize,
        process_before_response=False,
    )
    app.command(COMMAND)(_command_listener(medic))
    interactions.register(app, medic)
    app.event("app_mention")(_on_mention)
    return app


def _command_listener(medic: MedicProcess) -> Any:
    async def on_medic(ack: Any, command: dict[str, Any], respond: Any) -> None:
        user_id = str(command.get("user_id") or "")
        parsed = parse(str(command.get("text") or ""))
        channel_id = str(command.get("channel_id") or "") or None
        team_id = str(command.get("team_id") or "") or None
        work = asyncio.ensure_future(
            run_in_threadpool(run_command, medic, user_id, parsed, channel_id, team_id)
        )
        done, _ = await asyncio.wait({work}, timeout=ACK_BUDGET_SECONDS)
        if done:
            reply = _outcome(work)
            await ack(text=reply.text, blocks=reply.blocks, response_type="ephemeral")
            return
        await ack(text=WORKING, response_type="ephemeral")
        await asyncio.wait({work})
        reply = _outcome(work)
        try:
            await respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral")
        except Exception:
            log.exception("could not send the late answer to /medic %s", command.get("text"))

    return on_medic


def _outcome(work: asyncio.Future[Reply]) -> Reply:
    exception = work.exception()
    if exception is not None:
        log.error("/medic failed", exc_info=exception)
        return Reply(FAILED)
    return work.result()


async def _on_mention(event: dict[str, Any], say: Any) -> None:
    """`@Medic` in a channel: point at the command, in a thread."""
    await say(text=HELP_TEXT, thread_ts=event.get("thread_ts") or event.get("ts"))
