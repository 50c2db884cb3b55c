"""Block Kit for what a playbook did that the channel must hear about without being
asked: it failed (or failed and escalated to a human), or the circuit breaker
refused to start it again because it looks like a loop."""

from __future__ import annotations

from typing import Any

from medic.notify.blocks.alerts import escape, mention, runbook_link
from medic.notify.blocks.approvals import front_door
from medic.notify.message import Message

Block = dict[str, Any]

ICONS = {
    "execution.failed": ":x:",
    "execution.escalated": ":rotating_light:",
    "execution.refused": ":octagonal_sign:",
}


def execution_notice_blocks(message: Message) -> list[Block]:
    headline = f"{ICONS.get(message.kind, ':information_source:')} *{escape(message.summary())}*"
    lines: list[str] = []
    execution = message.execution
    if execution is not None:
        if execution.error:
            lines.append(f"*Error:* {escape(execution.error)}")
        number = f"#{execution.execution_id}"
        shown = f"<{execution.url}|{number}>" if execution.url else number
        lines.append(
            f"*Execution:* {shown}, v{execution.version}, requested by "
            f"{mention(execution.requested_by)} via {front_door(execution.front_door)}"
        )
    if message.kind == "execution.refused":
        lines.append(f"*Why:* {escape(str(message.details.get('reason') or 'circuit breaker'))}")
        requester = message.details.get("requested_by")
        if requester:
            lines.append(f"*Requested by:* {mention(str(requester))}")
        lines.append(
            "Look at why the remedy does not hold before running it again by hand; "
            "the limit is MEDIC_PLAYBOOK_MAX_EXECUTIONS_PER_HOUR."
        )
    if message.kind == "execution.escalated":
        lines.append(
            "The playbook asked for a human to take over: escalated to the on-call"
            " (PagerDuty, where this service's routing includes it)."
        )
    runbook = runbook_link(message.service.runbook) if message.service else None
    if runbook:
        lines.append(runbook)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline[:3000]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}},
    ]
