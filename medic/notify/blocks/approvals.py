"""Block Kit for a playbook execution waiting for a human: what will run, on which
service, why, who asked, how long the request stands, and Accept / Decline.

Once the request stops waiting, the same message is amended in place (`decided_blocks`):
the buttons go, and it says who decided what and when, or that nobody declined in time
(it proceeded), nobody accepted in time (it expired), or its playbook was disabled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from medic.core.approval_outcomes import CLOSURES, closure_of
from medic.notify.blocks.alerts import escape, mention, slack_time
from medic.notify.message import ExecutionFacts, Message

Block = dict[str, Any]

CLOSED_KIND = "execution.approval_closed"
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


def approval_mode(execution: ExecutionFacts) -> str:
    """What happens if nobody clicks, for this execution (not merely its playbook): a
    `timeout:Nm` request runs, a `required` one is cancelled, and so is one an AI
    assistant made, whatever the playbook says (MEDIC_MCP_APPROVAL=always)."""
    approval, when = escape(execution.approval), slack_time(execution.approval_deadline)
    if execution.approval_forced:
        return (
            "*Approval:* requested by an AI assistant: a human must accept "
            f"(the playbook's own `{approval}` does not apply to it); nothing runs until "
            f"an approver accepts; cancelled at {when} if nobody decides"
        )
    runs = execution.approval_on_deadline == "run" or (
        execution.approval_on_deadline is None and execution.approval.startswith("timeout:")
    )
    if runs:
        return f"*Approval:* `{approval}` — runs at {when} unless an approver declines first"
    return (
        f"*Approval:* `{approval}` — nothing runs until an approver accepts; "
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


def closure_line(
    closure: str,
    execution: ExecutionFacts,
    by: str | None = None,
    via: str | None = None,
    at: datetime | None = None,
) -> str:
    """How the request stopped waiting, by whom or why, as the amended message says it.
    `via` names the door when it was not Slack itself (the API, the approval page…)."""
    who, when = mention(by), slack_time(at)
    door = f" via {front_door(via)}" if via and via != "slack" else ""
    state = escape(execution.state)
    if closure == "accepted":
        return f":white_check_mark: *Accepted* by {who} at {when}{door}; the playbook is {state}."
    if closure == "declined":
        return f":no_entry_sign: *Declined* by {who} at {when}{door}; the execution is cancelled."
    deadline = slack_time(execution.approval_deadline or at)
    if closure == "proceeded":
        return (
            f":fast_forward: *Nobody declined* by {deadline}: the playbook proceeded, as its "
            f"`{escape(execution.approval)}` approval says; nobody decided."
        )
    if closure == "expired":
        return (
            f":hourglass: *Expired*: nobody accepted by {deadline}; the execution was "
            "cancelled and nothing ran."
        )
    why = escape((execution.error or "the execution was cancelled").removeprefix("cancelled: "))
    by_whom = f" by {who}" if by else ""
    return f":no_entry_sign: *Cancelled*{by_whom} at {when}{door}: {why}; nothing ran."


def closed_line(message: Message) -> str:
    """The closing line for a request that no longer waits: as its closing notification
    recorded it (medic.ops.approval_requests), else as the execution's row tells it."""
    execution = message.execution
    assert execution is not None
    details = message.details
    closure = details.get("closure") if message.kind == CLOSED_KIND else None
    if closure in CLOSURES:
        at = details.get("closed_at")
        return closure_line(
            str(closure),
            execution,
            by=details.get("closed_by"),
            via=details.get("closed_via"),
            at=datetime.fromisoformat(at) if isinstance(at, str) else None,
        )
    derived = closure_of(
        execution.state, execution.decided_by, execution.approval_on_deadline, execution.error
    )
    return closure_line(
        derived or "cancelled",
        execution,
        by=execution.decided_by,
        at=execution.decided_at or execution.approval_deadline,
    )


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
                    "text": f"*Execution:* <{execution.url}|#{execution.execution_id}>"
                    if execution.url
                    else f"*Execution:* #{execution.execution_id}",
                },
            ],
        },
        _context(approval_mode(execution), block_id=DEADLINE_BLOCK),
    ]
    value = decision_value(execution)
    if execution.state == "pending_approval" and message.kind != CLOSED_KIND:
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
    # Closed (the edit after a decision, a timeout, an expiry, a cancellation), or
    # delivered after it closed (a retried delivery): say how, no buttons.
    return decided_blocks(blocks, closed_line(message))


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
