"""The buttons on alert messages (Acknowledge, Mute 1 h, Unmute, Run playbook) and on
approval requests (Accept, Decline).

Each click acks Slack at once, runs one operations-layer call as the clicking user in
a worker thread, then edits the clicked message (chat.update) to say who did what.
Refusals and errors (a closed alert, a deleted service) go only to the clicker, as an
ephemeral message; nothing here ever answers Slack with a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from hmac import compare_digest
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from starlette.concurrency import run_in_threadpool

from medic.bot.access import actor_for, decider_for, may_operate, refusal, team_of
from medic.models import Execution
from medic.notify.blocks.alerts import (
    ACK_ACTION,
    MUTE_ACTION,
    RUN_PLAYBOOK_ACTIONS,
    UNMUTE_ACTION,
    escape,
    mention,
    run_button_value,
    slack_time,
    with_activity,
)
from medic.notify.blocks.approvals import (
    ACCEPT_ACTION,
    DECLINE_ACTION,
    ShownRequest,
    closure_line,
    decided_blocks,
    shown_request,
)
from medic.notify.message import ExecutionFacts
from medic.ops import alerts as alert_ops
from medic.ops import executions as execution_ops
from medic.ops import services as service_ops
from medic.ops.actor import Actor
from medic.ops.alert_playbooks import offered_for_alert
from medic.ops.alerts import AcknowledgeAlert
from medic.ops.errors import Conflict, Forbidden, InvalidInput, MedicError
from medic.ops.executions import ApproveExecution, DeclineExecution, ExecutePlaybook
from medic.ops.service_commands import MuteService, UnmuteService
from medic.process import MedicProcess

log = logging.getLogger(__name__)
BUTTON_MUTE = timedelta(hours=1)


@dataclass(frozen=True)
class Done:
    """What the message should now say, and a button that no longer makes sense."""

    line: str
    remove_action: str | None = None


def _number(value: str, what: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 2**31:
        raise InvalidInput(f"this button carries no valid {what} id ({value!r})")
    return int(value)


def acknowledge(medic: MedicProcess, actor: Actor, value: str) -> Done:
    command = AcknowledgeAlert.of(alert_id=_number(value, "alert"))
    alert = alert_ops.acknowledge(medic.context(actor), command)
    when = slack_time(alert.acknowledged_at)
    return Done(f":eyes: Acknowledged by {mention(alert.acknowledged_by)} at {when}", ACK_ACTION)


def mute_one_hour(medic: MedicProcess, actor: Actor, value: str) -> Done:
    command = MuteService.of(
        service=_number(value, "service"), duration=BUTTON_MUTE, reason="muted from a Slack alert"
    )
    service = service_ops.mute(medic.context(actor), command)
    return Done(f":mute: Muted by {mention(actor.name)} until {slack_time(service.muted_until)}")


def unmute(medic: MedicProcess, actor: Actor, value: str) -> Done:
    service_ops.unmute(medic.context(actor), UnmuteService.of(service=_number(value, "service")))
    return Done(f":loud_sound: Unmuted by {mention(actor.name)}")


def run_playbook(medic: MedicProcess, actor: Actor, value: str, action_id: str) -> Done:
    """Ask for a run of a playbook the alert offers, through the normal request: the
    playbook's approval (and MEDIC_SLACK_OPERATORS, checked before) apply. The value is
    checked again: the alert must be open and its service matched by the trigger."""
    parsed = run_button_value(value)
    if parsed is None:
        raise InvalidInput("this button names no alert and playbook; nothing was started")
    alert_id, playbook = parsed
    with medic.db.session() as session:
        service_id = offered_for_alert(session, alert_id, playbook).service_id
    command = ExecutePlaybook.of(
        playbook=playbook, service=service_id, reason=f"run from Slack on alert #{alert_id}"
    )
    execution = execution_ops.execute_playbook(medic.context(actor), command)
    who = mention(actor.name)
    what = f"playbook `{escape(playbook)}` (execution #{execution.execution_id})"
    if execution.state == "pending_approval":
        line = f":hourglass: {who} asked to run {what}: waiting for approval"
    else:
        line = f":arrow_forward: {who} started {what}"
    return Done(line, action_id)


def _run_button(action_id: str) -> Operation:
    def run(medic: MedicProcess, actor: Actor, value: str) -> Done:
        return run_playbook(medic, actor, value, action_id)

    run.__name__ = f"run_playbook_{action_id.rsplit('_', 1)[-1]}"
    return run


Operation = Callable[[MedicProcess, Actor, str], Done]
BUTTONS: dict[str, tuple[Operation, str]] = {
    ACK_ACTION: (acknowledge, "acknowledge alerts"),
    MUTE_ACTION: (mute_one_hour, "mute services"),
    UNMUTE_ACTION: (unmute, "unmute services"),
    **{action: (_run_button(action), "run playbooks") for action in RUN_PLAYBOOK_ACTIONS},
}


def register(app: AsyncApp, medic: MedicProcess) -> None:
    for action_id, (operation, what) in BUTTONS.items():
        app.action(action_id)(_listener(medic, operation, what))
    app.action(ACCEPT_ACTION)(_decision_listener(medic, accept=True))
    app.action(DECLINE_ACTION)(_decision_listener(medic, accept=False))


def _listener(medic: MedicProcess, operation: Operation, what: str) -> Callable[..., Any]:
    async def on_click(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        await ack()
        user_id = str((body.get("user") or {}).get("id") or "")
        if not user_id or not may_operate(medic.settings, user_id):
            await tell(body, client, refusal(medic.settings, what))
            return
        actor = actor_for(medic.settings, user_id, team_of(body))
        try:
            done = await run_in_threadpool(operation, medic, actor, str(action.get("value", "")))
        except MedicError as exc:
            await tell(body, client, f":warning: {escape(exc.message)}")
            return
        except Exception:
            log.exception("Slack button %s failed", action.get("action_id"))
            await tell(body, client, ":boom: Medic could not do that; please try again.")
            return
        await edit_message(body, client, done)

    on_click.__name__ = f"on_{operation.__name__}"
    return on_click


async def edit_message(body: dict[str, Any], client: AsyncWebClient, done: Done) -> None:
    """Amend the clicked alert message: the activity line added, the used button gone."""
    original = (body.get("message") or {}).get("text")
    await amend_clicked(
        body,
        client,
        done.line,
        original or done.line,
        lambda blocks: with_activity(blocks, done.line, done.remove_action),
    )


async def amend_clicked(
    body: dict[str, Any],
    client: AsyncWebClient,
    line: str,
    text: str,
    amend: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> None:
    """Edit the clicked message in place to `amend(blocks)`; if that is impossible, tell
    the clicker `line` instead, so the outcome is never silent."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or message.get("ts")
    blocks = message.get("blocks")
    if not (channel and ts and blocks):
        await tell(body, client, line)
        return
    try:
        await client.chat_update(channel=channel, ts=ts, text=text, blocks=amend(blocks))
    except SlackApiError as exc:
        log.warning("chat.update failed after a click: %s", exc.response.get("error"))
        await tell(body, client, f"{line} (the message could not be updated)")


async def tell(body: dict[str, Any], client: AsyncWebClient, text: str) -> None:
    """An ephemeral message to the clicking user only."""
    user_id = (body.get("user") or {}).get("id")
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get(
        "id"
    )
    try:
        if body.get("response_url"):
            await AsyncWebhookClient(body["response_url"]).send_dict(
                {"text": text, "response_type": "ephemeral", "replace_original": False}
            )
        elif channel and user_id:
            await client.chat_postEphemeral(channel=channel, user=user_id, text=text)
    except Exception:
        log.exception("could not tell Slack user %s: %s", user_id, text)


def decide(medic: MedicProcess, actor: Actor, value: str, accept: bool) -> str:
    """Accept or decline as the clicking user; the outcome line for the message. The
    button names the request it was posted for (id, pinned version, approval token):
    the decision holds for exactly that request or for nothing."""
    shown, context = _shown(value), medic.context(actor)
    bound = {
        "execution_id": shown.execution_id,
        "version": shown.version,
        "approval_token": shown.approval_token,
    }
    if accept:
        execution = execution_ops.approve(context, ApproveExecution.of(**bound))
    else:
        execution = execution_ops.decline(context, DeclineExecution.of(**bound))
    # The same line the outbox's edit of the message writes (medic.notify.slack).
    facts = ExecutionFacts(
        execution_id=execution.execution_id,
        playbook=execution.playbook,
        version=execution.version,
        description=None,
        steps=[],
        requested_by=execution.requested_by,
        front_door=execution.front_door,
        reason=execution.reason,
        state=execution.state,
        approval="",
        approval_deadline=execution.approval_deadline,
    )
    closure = "accepted" if accept else "declined"
    return closure_line(closure, facts, execution.decided_by, "slack", execution.decided_at)


def _shown(value: str) -> ShownRequest:
    shown = shown_request(value)
    if shown is None:
        raise InvalidInput(
            "this button does not name a current approval request (it may come from an "
            "older message); nothing changed. Use the approval link in the message instead"
        )
    return shown


def refused_decision(medic: MedicProcess, value: str, error: MedicError) -> str:
    """Why a click changed nothing, for the clicker only; says who decided if someone did."""
    if isinstance(error, Forbidden):
        return f":no_entry: You cannot decide this request: {escape(error.message)}."
    if not isinstance(error, Conflict):
        return f":warning: {escape(error.message)}"
    text = f":information_source: Nothing changed: {escape(error.message)}"
    shown = shown_request(value)
    if shown is not None:
        with medic.db.session() as session:
            execution = session.get(Execution, shown.execution_id)
        # Who decided, only about the request this button was posted for.
        if (
            execution is not None
            and execution.decided_by
            and compare_digest(
                (execution.approval_token or "").encode(), shown.approval_token.encode()
            )
        ):
            verb = "declined" if execution.state == "cancelled" else "accepted"
            text += (
                f" ({verb} by {mention(execution.decided_by)} "
                f"at {slack_time(execution.decided_at)})"
            )
    return text + "."


def _decision_listener(medic: MedicProcess, accept: bool) -> Callable[..., Any]:
    async def on_decision(
        ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any
    ) -> None:
        await ack()
        user_id = str((body.get("user") or {}).get("id") or "")
        value = str(action.get("value", ""))
        if not user_id:
            await tell(body, client, ":no_entry: Medic cannot tell who clicked; nothing changed.")
            return
        try:
            decider = decider_for(user_id, team_of(body))
            line = await run_in_threadpool(decide, medic, decider, value, accept)
        except MedicError as exc:
            try:
                text = await run_in_threadpool(refused_decision, medic, value, exc)
            except Exception:
                log.exception("could not explain a refused decision")
                text = f":warning: {escape(exc.message)}"
            await tell(body, client, text)
            return
        except Exception:
            log.exception("Slack button %s failed", action.get("action_id"))
            await tell(body, client, ":boom: Medic could not do that; please try again.")
            return
        await edit_request(body, client, line)

    on_decision.__name__ = "on_accept" if accept else "on_decline"
    return on_decision


async def edit_request(body: dict[str, Any], client: AsyncWebClient, line: str) -> None:
    """Amend the approval request: buttons gone, who decided."""
    original = (body.get("message") or {}).get("text") or "Approval request"
    await amend_clicked(
        body,
        client,
        line,
        f"{original} — {line}"[:3000],
        lambda blocks: decided_blocks(blocks, line),
    )
