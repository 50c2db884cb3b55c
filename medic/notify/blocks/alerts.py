"""Block Kit for notification messages: what an alert, its recovery and a maintenance
window look like in a channel, and how a message is amended after someone acts on it.

Times use Slack's `<!date^…>` token so each reader sees their own timezone; the
fallback after `|` is UTC for clients that cannot render it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from medic.core.durations import spoken_duration
from medic.core.links import web_url
from medic.notify.message import Message

Block = dict[str, Any]

# A Slack user, team or channel id (U0123ABCD, T…, C…): nothing else becomes `<@…>`.
SLACK_ID = re.compile(r"[A-Z0-9]{2,32}")
ACK_ACTION = "medic_alert_ack"
MUTE_ACTION = "medic_service_mute_1h"
UNMUTE_ACTION = "medic_service_unmute"
# One action id per Run button of an alert (Slack wants them distinct within a block).
RUN_PLAYBOOK_ACTIONS = tuple(f"medic_alert_run_playbook_{n}" for n in range(3))
ACTIONS_BLOCK = "medic_alert_actions"
ACTIVITY_BLOCK = "medic_alert_activity"
# Slack allows at most ten elements in a context block.
_MAX_CONTEXT_ELEMENTS = 10


def slack_time(moment: datetime | None) -> str:
    """A time every reader sees in their own timezone."""
    if moment is None:
        return "unknown"
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def mention(actor_name: str | None) -> str:
    """`slack:U123` or `slack:T1/U123` (an audited Slack actor) becomes a mention of
    that user id; anyone else, their name, escaped."""
    if not actor_name:
        return "someone"
    if actor_name.startswith("slack:"):
        user_id = actor_name.removeprefix("slack:").rsplit("/", 1)[-1]
        if SLACK_ID.fullmatch(user_id):
            return f"<@{user_id}>"
    return f"`{escape(actor_name)}`"


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters: every text a user or a job
    chose (names, team, reasons, descriptions, heartbeat messages) goes through here."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str | None, label: str) -> str | None:
    """`<url|label>` for an http(s) URL (medic.core.links.web_url), with the URL's `&`,
    `<`, `>` and `|` escaped so neither can end the link early; None for anything else,
    so a value stored before runbooks had to be URLs is never rendered as markup."""
    if not url or not web_url(url):
        return None
    href = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{href}|{escape(label)}>"


def runbook_link(runbook: str | None) -> str | None:
    """The runbook as a link; an old value that is not an http(s) URL, inert."""
    if not runbook:
        return None
    return link(runbook, "Runbook") or "Runbook: _not shown, not an http(s) link_"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(*lines: str, block_id: str | None = None) -> Block:
    block: Block = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": line[:3000]} for line in lines],
    }
    if block_id:
        block["block_id"] = block_id
    return block


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _facts(message: Message) -> list[str]:
    service = message.service
    if service is None:
        return []
    facts = [
        f"*Heartbeat:* `{escape(service.heartbeat_name)}`",
        f"*Priority:* {service.priority.upper()}",
        f"*Team:* {escape(service.team)}",
    ]
    if message.alert is not None:
        facts.append(f"*Alert:* #{message.alert.alert_id}")
    return facts


def _links(message: Message) -> str | None:
    links = []
    runbook = runbook_link(message.service.runbook) if message.service else None
    if runbook:
        links.append(runbook)
    if message.service_url:
        links.append(f"<{message.service_url}|Open in Medic>")
    return " · ".join(links) or None


def alert_blocks(message: Message) -> list[Block]:
    """A problem: what is down, since when, why, where to look, and what to click."""
    service = message.service
    name = escape(service.display_name) if service else "Unknown service"
    reason = service.state_reason if service else None
    since = service.state_changed_at if service else None
    headline = f":red_circle: *{name} is DOWN*"
    if message.kind == "alert.repeated":
        headline = (
            f":repeat: *{name} is still DOWN*, not acknowledged "
            f"(reminder {escape(str(message.details.get('repeat')))})"
        )
    blocks: list[Block] = [
        _section(headline + (f"\n{escape(reason)}" if reason else "")),
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": fact} for fact in _facts(message)]
            + [{"type": "mrkdwn", "text": f"*Since:* {slack_time(since)}"}],
        },
    ]
    links = _links(message)
    if links:
        blocks.append(_context(links))
    buttons = []
    if message.alert is not None and message.alert.acknowledged_at is None:
        buttons.append(_button("Acknowledge", ACK_ACTION, str(message.alert.alert_id), "primary"))
    if service is not None:
        buttons.append(_button("Mute 1 h", MUTE_ACTION, str(service.service_id)))
        buttons.append(_button("Unmute", UNMUTE_ACTION, str(service.service_id)))
    if message.alert is not None and message.alert.active:
        buttons.extend(_run_buttons(message.alert.alert_id, message.playbooks))
    if buttons:
        blocks.append({"type": "actions", "block_id": ACTIONS_BLOCK, "elements": buttons})
    if message.alert is not None and message.alert.acknowledged_by:
        blocks.append(
            _context(
                f"Acknowledged by {mention(message.alert.acknowledged_by)}",
                block_id=ACTIVITY_BLOCK,
            )
        )
    return blocks


def _run_buttons(alert_id: int, playbooks: tuple[str, ...]) -> list[Block]:
    """ "Run playbook" for each playbook the alert offers: the value names the alert and
    the playbook, both checked again when clicked (medic.ops.alert_playbooks)."""
    return [
        _button(f"Run {name}"[:75], action, f"{alert_id}:{name}")
        for action, name in zip(RUN_PLAYBOOK_ACTIONS, playbooks, strict=False)
    ]


def run_button_value(value: str) -> tuple[int, str] | None:
    """(alert id, playbook name) of a Run button's value; None if it is not one."""
    alert, _, playbook = value.partition(":")
    if not alert.isdigit() or not 0 < int(alert) < 2**31 or not 0 < len(playbook) <= 128:
        return None
    return int(alert), playbook


def recovered_blocks(message: Message) -> list[Block]:
    """The alert message edited in place once the service is back: green, no buttons."""
    service = message.service
    name = escape(service.display_name) if service else "Unknown service"
    closed = message.alert.closed_date if message.alert else None
    at = slack_time(closed or message.created_at)
    headline = f":large_green_circle: *{name} recovered* at {at}"
    if message.downtime is not None:
        headline += f", up again after {spoken_duration(message.downtime)} down"
    if message.retired:  # deactivated or deleted: say so, and by whom
        reason = escape(str(message.details.get("reason")))
        headline = f":white_check_mark: *{name}: alert resolved* at {at}\n{reason}"
    blocks: list[Block] = [_section(headline)]
    facts = _facts(message)
    if facts:
        blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in facts]})
    links = _links(message)
    if links:
        blocks.append(_context(links))
    if message.alert is not None and message.alert.acknowledged_by:
        blocks.append(_context(f"Acknowledged by {mention(message.alert.acknowledged_by)}"))
    return blocks


def maintenance_blocks(message: Message) -> list[Block]:
    """A window opening or closing; who it covers and until when."""
    started = message.kind == "maintenance.started"
    window = message.window
    name = window.name if window else str(message.details.get("window") or "maintenance")
    reason = window.reason if window else message.details.get("reason")
    service_ids = window.service_ids if window else message.details.get("service_ids")
    icon = ":construction:" if started else ":white_check_mark:"
    headline = f"{icon} *Maintenance window {escape(name)} {'started' if started else 'ended'}*"
    if started and window is not None and window.ends_at is not None:
        headline += f" — until {slack_time(window.ends_at)}"
    covers = (
        "all services"
        if not service_ids
        else "service" + ("s " if len(service_ids) > 1 else " ") + ", ".join(map(str, service_ids))
    )
    lines = [f"Covers {covers}. Alerts for them are silenced while it is open."]
    if reason:
        lines.insert(0, f"Reason: {escape(str(reason))}")
    ended_by = message.details.get("ended_by")
    if ended_by:
        lines.append(escape(str(ended_by)))
    return [_section(headline), _context(*lines)]


def with_activity(blocks: list[Block], line: str, remove_action: str | None = None) -> list[Block]:
    """The message as it was, plus one "who did what" line (and minus a spent button)."""
    amended: list[Block] = []
    activity: Block | None = None
    for block in blocks:
        block = dict(block)
        if block.get("block_id") == ACTIONS_BLOCK and remove_action:
            elements = [e for e in block.get("elements", []) if e.get("action_id") != remove_action]
            if not elements:
                continue
            block["elements"] = elements
        if block.get("block_id") == ACTIVITY_BLOCK:
            activity = block
        amended.append(block)
    element = {"type": "mrkdwn", "text": line[:3000]}
    if activity is None:
        amended.append(_context(line, block_id=ACTIVITY_BLOCK))
    else:
        elements = [*activity.get("elements", []), element]
        activity["elements"] = elements[-_MAX_CONTEXT_ELEMENTS:]
    return amended
