"""Block Kit for a playbook execution waiting for a human: what will run, on which
service, why, who asked, how long the request stands, and Accept / Decline.

Once someone decides, the same message is amended in place (`decided_blocks`): the
buttons go, and it says who decided what, and when.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from medic.notify.blocks.alerts import escape, mention, slack_time
from medic.notify.message import ExecutionFacts, Message

Block = dict[str, Any]

ACCEPT_ACTION = "medic_execution_accept"
DECLINE_ACTION = "medic_execution_decline"
APPROVAL_ACTIONS_BLOCK = "medic_execution_actions"
HEADLINE_BLOCK = "medic_execution_headline"
OUTCOME_BLOCK = "medic_execution_outcome"
# Until when the request stands: moot once someone decided, so the edit drops it.
DEADLINE_BLOCK = "medic_execution_deadline"
FRONT_DOORS = {
    "slack": "Slack",
    "api": "the API",
    "mcp": "an AI assistant (MCP)",
    "cli": "the CLI",
    "dashboard": "the dashboard",
    "system": "Medic itself (a playbook trigger)",
}
# Slack shows at most this many list lines comfortably in one section.
_MAX_STEPS = 20
# `<execution id>:<pinned version>:<approval token>` (token_urlsafe: A-Z a-z 0-9 - _).
_DECISION_VALUE = re.compile(r"([0-9]{1,19}):([0-9]{1,10}):([A-Za-z0-9_-]{16,64})")


def _section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
    if block_id:
        block["block_id"] = block_id
    return block


def _context(*lines: str, block_id: str | None = None) -> Block:
    block: Block = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": line[:3000]} for line in lines],
    }
    if block_id:
        block["block_id"] = block_id
    return block


def _button(text: str, action_id: str, value: str, style: str) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
        "style": style,
    }


@dataclass(frozen=True)
class ShownRequest:
    """What an Accept/Decline button says it decides: one execution, at its pinned
    version, with the unguessable token only the posted request carries."""

    execution_id: int
    version: int
    approval_token: str


def decision_value(execution: ExecutionFacts) -> str:
    """A button's value: `<execution id>:<version>:<approval token>`."""
    return f"{execution.execution_id}:{execution.version}:{execution.approval_token or ''}"


def shown_request(value: str) -> ShownRequest | None:
    """The request a button's value names, or None for anything else (a bare id from
    a message posted before buttons carried a token, a forged value)."""
    match = _DECISION_VALUE.fullmatch(value)
    if match is None:
        return None
    execution_id, version = int(match.group(1)), int(match.group(2))
    if not (0 < execution_id < 2**63 and 0 < version < 2**31):
        return None
    return ShownRequest(execution_id, version, match.group(3))


def front_door(name: str) -> str:
    return FRONT_DOORS.get(name, escape(name))


def approval_mode(approval: str, deadline: datetime | None) -> str:
    """What happens if nobody clicks: `required` is cancelled, `timeout:Nm` runs."""
    when = slack_time(deadline)
    if approval.startswith("timeout:"):
        return (
            f"*Approval:* `{escape(approval)}` — runs at {when} unless an approver declines first"
        )
    return (
        f"*Approval:* `{escape(approval)}` — nothing runs until an approver accepts; "
        f"cancelled at {when} if nobody decides"
    )


def _target(message: Message) -> str:
    service = message.service
    if service is None:
        return "no particular service"
    name = f"*{escape(service.display_name)}*"
    if service.service_name and service.service_name != service.heartbeat_name:
        name += f" (`{escape(service.heartbeat_name)}`)"
    return f"{name}, team {escape(service.team)}"


def _why(message: Message, execution: ExecutionFacts) -> str:
    reasons = []
    if execution.reason:
        reasons.append(escape(execution.reason))
    if message.alert is not None:
        alert = f"alert #{message.alert.alert_id}"
        if message.alert.alert_name:
            alert += f" ({escape(message.alert.alert_name)})"
        alert += f", open since {slack_time(message.alert.created_date)}"
        reasons.append(alert)
    return "*Why:* " + ("; ".join(reasons) if reasons else "no reason given")


def _steps(execution: ExecutionFacts) -> str:
    shown = execution.steps[:_MAX_STEPS]
    lines = [f"{n}. {escape(step)}" for n, step in enumerate(shown, start=1)]
    if len(execution.steps) > len(shown):
        lines.append(f"… and {len(execution.steps) - len(shown)} more")
    return "*Steps:*\n" + ("\n".join(lines) if lines else "none")


def outcome_line(state: str, decided_by: str | None, decided_at: datetime | None) -> str:
    """Who decided what and when, as the amended message says it."""
    who, when = mention(decided_by), slack_time(decided_at)
    if state == "cancelled" and decided_by:
        return f":no_entry_sign: *Declined* by {who} at {when}; the execution is cancelled."
    if decided_by:
        return f":white_check_mark: *Accepted* by {who} at {when}; the playbook is {state}."
    if state == "cancelled":
        return ":hourglass: Nobody decided in time; the execution was cancelled."
    return f":information_source: The execution is {escape(state)}; nobody decides any more."


def approval_blocks(message: Message) -> list[Block]:
    """The request, as posted: Accept / Decline while it is still pending."""
    execution = message.execution
    if execution is None:
        return [_section(escape(message.summary()))]
    headline = (
        f":raising_hand: *Approval needed:* run playbook *{escape(execution.playbook)}* "
        f"v{execution.version} on {_target(message)}"
    )
    if execution.description:
        headline += f"\n_{escape(execution.description)}_"
    blocks: list[Block] = [
        _section(headline, block_id=HEADLINE_BLOCK),
        _section(_steps(execution)),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _why(message, execution)[:2000]},
                {
                    "type": "mrkdwn",
                    "text": f"*Requested by:* {mention(execution.requested_by)} "
                    f"via {front_door(execution.front_door)}",
                },
                {
                    "type": "mrkdwn",
                    "text": f"*Execution:* <{execution.approval_url}|#{execution.execution_id}>"
                    if execution.approval_url
                    else f"*Execution:* #{execution.execution_id}",
                },
            ],
        },
        _context(
            approval_mode(execution.approval, execution.approval_deadline),
            block_id=DEADLINE_BLOCK,
        ),
    ]
    value = decision_value(execution)
    if execution.state == "pending_approval":
        blocks.append(
            {
                "type": "actions",
                "block_id": APPROVAL_ACTIONS_BLOCK,
                "elements": [
                    _button("Accept", ACCEPT_ACTION, value, "primary"),
                    _button("Decline", DECLINE_ACTION, value, "danger"),
                ],
            }
        )
        return blocks
    # Delivered after someone already decided (a retried delivery): say so, no buttons.
    line = outcome_line(execution.state, execution.decided_by, execution.decided_at)
    return decided_blocks(blocks, line)


def decided_blocks(blocks: list[Block], line: str) -> list[Block]:
    """The posted request, amended after a decision: no buttons and no deadline, one
    outcome line instead."""
    amended = [
        dict(block)
        for block in blocks
        if block.get("block_id") not in (APPROVAL_ACTIONS_BLOCK, OUTCOME_BLOCK, DEADLINE_BLOCK)
        and block.get("type") != "actions"
    ]
    for block in amended:
        if block.get("block_id") == HEADLINE_BLOCK:
            text = dict(block.get("text") or {})
            text["text"] = str(text.get("text", "")).replace(
                ":raising_hand: *Approval needed:*", ":clipboard: *Approval request:*", 1
            )
            block["text"] = text
    amended.append(_context(line, block_id=OUTCOME_BLOCK))
    return amended
