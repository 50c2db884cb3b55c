"""What each `/medic` command does: one operations-layer call as the Slack user, rendered
as a short reply. Synchronous on purpose: the bolt glue runs it in a worker thread.

A MedicError (unknown service, closed alert, bad duration …) is an answer, not a crash:
the user sees its message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from medic.bot import commands as c
from medic.bot.access import actor_for, may_operate, refusal
from medic.models import Service, Team
from medic.notify.blocks.alerts import SLACK_ID, escape, mention, runbook_link, slack_time
from medic.ops import alerts as alert_ops
from medic.ops import executions as execution_ops
from medic.ops import maintenance as maintenance_ops
from medic.ops import playbooks as playbook_ops
from medic.ops import services as service_ops
from medic.ops.actor import Actor
from medic.ops.alerts import AcknowledgeAlert, AlertView, ListAlerts
from medic.ops.errors import Conflict, MedicError, NotFound
from medic.ops.executions import ExecutePlaybook, ExecutionView
from medic.ops.maintenance import CreateWindow
from medic.ops.playbooks import ListPlaybooks
from medic.ops.service_commands import GetService, ListServices, MuteService, UnmuteService
from medic.ops.service_view import ServiceView
from medic.process import MedicProcess

LIST_LIMIT = 50
ALERTS_LIMIT = 20
STATE_ICONS = {"up": ":large_green_circle:", "down": ":red_circle:", "new": ":white_circle:"}
WHAT = {
    c.Mute: "mute services",
    c.Unmute: "unmute services",
    c.Ack: "acknowledge alerts",
    c.Maintenance: "open maintenance windows",
    c.Run: "run playbooks",
}
PLAYBOOKS_SHOWN = 10


@dataclass(frozen=True)
class Reply:
    """An ephemeral answer to the person who typed the command."""

    text: str
    blocks: list[dict[str, Any]] | None = None


def run_command(
    medic: MedicProcess,
    user_id: str,
    command: c.Command,
    channel_id: str | None = None,
    team_id: str | None = None,
) -> Reply:
    """`channel_id` is where the command was typed (to say where an approval waits);
    `team_id` the workspace Slack signed it for."""
    settings = medic.settings
    if isinstance(command, c.WRITES) and not may_operate(settings, user_id):
        return Reply(refusal(settings, WHAT[type(command)]))
    actor = actor_for(settings, user_id, team_id)
    try:
        if isinstance(command, c.Run):
            return _run(medic, actor, command, channel_id)
        return _HANDLERS[type(command)](medic, actor, command)
    except MedicError as exc:
        return Reply(f":warning: {escape(exc.message)}")


def label(service: ServiceView) -> str:
    """`Backups (nightly-backup)`: the display name, and the heartbeat name people type."""
    name = escape(service.service_name or service.heartbeat_name)
    if service.service_name and service.service_name != service.heartbeat_name:
        return f"*{name}* (`{escape(service.heartbeat_name)}`)"
    return f"*{name}*"


def _state(service: ServiceView) -> str:
    icon = STATE_ICONS.get(service.state, ":grey_question:")
    text = f"{icon} {service.state}"
    if service.muted:
        text += f" :mute: muted until {slack_time(service.muted_until)}"
    if not service.active:
        text += " (inactive)"
    return text


def _help(_medic: MedicProcess, _actor: Actor, command: c.Help) -> Reply:
    text = c.HELP_TEXT if command.problem is None else f"{command.problem}\n\n{c.HELP_TEXT}"
    return Reply(text)


def _status(medic: MedicProcess, actor: Actor, command: c.Status) -> Reply:
    if command.name is None:
        return _summary(medic, actor)
    service = service_ops.get_service(medic.context(actor), GetService.of(service=command.name))
    lines = [f"{label(service)} — {_state(service)}"]
    if service.state_reason:
        lines.append(f"Why: {escape(service.state_reason)}")
    last = slack_time(service.last_heartbeat_at) if service.last_heartbeat_at else "never"
    lines.append(
        f"Team {escape(service.team)} · priority {service.priority.upper()} · last heartbeat {last}"
    )
    if service.mute_reason:
        lines.append(f"Muted because: {escape(service.mute_reason)}")
    runbook = runbook_link(service.runbook)
    if runbook:
        lines.append(runbook)
    return Reply("\n".join(lines))


def _summary(medic: MedicProcess, actor: Actor) -> Reply:
    context = medic.context(actor)
    counts = {
        state: service_ops.list_services(
            context, ListServices.of(active=True, state=state, limit=0)
        )[1]
        for state in ("up", "down", "new")
    }
    down, _ = service_ops.list_services(
        context, ListServices.of(active=True, state="down", limit=10)
    )
    open_alerts = alert_ops.count_active(medic.db)
    lines = [
        f":large_green_circle: {counts['up']} up · :red_circle: {counts['down']} down · "
        f":white_circle: {counts['new']} waiting for a first heartbeat · "
        f"{open_alerts} open alert{'s' if open_alerts != 1 else ''}"
    ]
    lines += [f"• {label(s)} — {_state(s)}" for s in down]
    return Reply("\n".join(lines))


def _list(medic: MedicProcess, actor: Actor, command: c.ListServices) -> Reply:
    services, total = service_ops.list_services(
        medic.context(actor), ListServices.of(active=True, team=command.team, limit=LIST_LIMIT)
    )
    if not services:
        where = f" for team {escape(command.team)}" if command.team else ""
        return Reply(f"No services are registered{where}.")
    lines = [f"• {label(s)} — {_state(s)}" for s in services]
    if total > len(services):
        lines.append(f"… and {total - len(services)} more (see `medic service list`).")
    return Reply("\n".join(lines))


def _mute(medic: MedicProcess, actor: Actor, command: c.Mute) -> Reply:
    service = service_ops.mute(
        medic.context(actor),
        MuteService.of(service=command.name, duration=command.duration, reason=command.reason),
    )
    why = f" ({escape(command.reason)})" if command.reason else ""
    return Reply(f":mute: Muted {label(service)} until {slack_time(service.muted_until)}{why}.")


def _unmute(medic: MedicProcess, actor: Actor, command: c.Unmute) -> Reply:
    service = service_ops.unmute(medic.context(actor), UnmuteService.of(service=command.name))
    return Reply(f":loud_sound: Unmuted {label(service)}; its alerts notify again.")


def _alerts(medic: MedicProcess, actor: Actor, _command: c.Alerts) -> Reply:
    query = ListAlerts.of(active=True, limit=ALERTS_LIMIT)
    alerts, total = alert_ops.list_alerts(medic.context(actor), query)
    if not alerts:
        return Reply(":white_check_mark: No open alerts.")
    lines = [_alert_line(medic, actor, alert) for alert in alerts]
    if total > len(alerts):
        lines.append(f"… and {total - len(alerts)} more.")
    lines.append("Acknowledge one with `/medic ack <id>`.")
    return Reply("\n".join(lines))


def _alert_line(medic: MedicProcess, actor: Actor, alert: AlertView) -> str:
    try:
        service = service_ops.get_service(
            medic.context(actor), GetService.of(service=alert.service_id)
        )
        name = label(service)
    except NotFound:
        name = f"service {alert.service_id}"
    line = f"• #{alert.alert_id} {name} — since {slack_time(alert.created_date)}"
    if alert.acknowledged_by:
        line += f" · acknowledged by {mention(alert.acknowledged_by)}"
    return line


def _ack(medic: MedicProcess, actor: Actor, command: c.Ack) -> Reply:
    alert = alert_ops.acknowledge(
        medic.context(actor), AcknowledgeAlert.of(alert_id=command.alert_id)
    )
    if alert.acknowledged_by != actor.name:
        return Reply(
            f"Alert #{alert.alert_id} was already acknowledged by "
            f"{mention(alert.acknowledged_by)} at {slack_time(alert.acknowledged_at)}."
        )
    return Reply(f":eyes: Alert #{alert.alert_id} acknowledged; it is yours.")


def _maintenance(medic: MedicProcess, actor: Actor, command: c.Maintenance) -> Reply:
    service = None
    if command.name is not None:
        service = service_ops.get_service(medic.context(actor), GetService.of(service=command.name))
    window = maintenance_ops.create_window(
        medic.context(actor),
        CreateWindow.of(
            name=command.reason or f"maintenance of {command.name or 'all services'}",
            reason=command.reason,
            service_ids=None if service is None else [service.service_id],
            duration=command.duration,
        ),
    )
    covers = "all services" if service is None else label(service)
    return Reply(
        f":construction: Maintenance window #{window.window_id} is open for {covers} "
        f"until {slack_time(window.ends_at)}; their alerts are silenced meanwhile."
    )


def _run(medic: MedicProcess, actor: Actor, command: c.Run, channel_id: str | None) -> Reply:
    try:
        execution = execution_ops.execute_playbook(
            medic.context(actor),
            ExecutePlaybook.of(playbook=command.playbook, service=command.service),
        )
    except NotFound as exc:
        if str(exc.message).startswith("no playbook"):
            return Reply(f":warning: {escape(exc.message)}. {_known_playbooks(medic, actor)}")
        return Reply(f":warning: {escape(exc.message)}. Check the name with `/medic list`.")
    except Conflict as exc:
        return Reply(f":no_entry: Not started: {escape(exc.message)}.")
    on = f" on `{escape(command.service)}`" if command.service else ""
    started = (
        f"Execution #{execution.execution_id} of playbook *{escape(execution.playbook)}* "
        f"v{execution.version}{on}"
    )
    if execution.state == "pending_approval":
        where = _approval_channel(medic, execution)
        place = (
            "in this channel"
            if where is None or where == channel_id
            else f"in <#{where}>"
            if SLACK_ID.fullmatch(where)
            else f"in {escape(where)}"
        )
        return Reply(
            f":hourglass_flowing_sand: {started} is waiting for approval {place}: an approver "
            f"clicks Accept or Decline (until {slack_time(execution.approval_deadline)})."
        )
    return Reply(f":arrow_forward: {started} is {execution.state}.")


def _known_playbooks(medic: MedicProcess, actor: Actor) -> str:
    query = ListPlaybooks.of(limit=PLAYBOOKS_SHOWN)
    found, total = playbook_ops.list_playbooks(medic.context(actor), query)
    if not found:
        return "No playbooks exist yet; an admin applies them with `medic playbook apply`."
    names = ", ".join(f"`{escape(playbook.name)}`" for playbook in found)
    more = f" and {total - len(found)} more" if total > len(found) else ""
    return f"Playbooks: {names}{more}."


def _approval_channel(medic: MedicProcess, execution: ExecutionView) -> str | None:
    """Where the request is posted: the service team's channel, else SLACK_CHANNEL_ID."""
    if execution.service_id is not None:
        with medic.db.session() as session:
            service = session.get(Service, execution.service_id)
            team = (
                session.exec(select(Team).where(Team.name == service.team)).first()
                if service
                else None
            )
            if team is not None and team.slack_channel_id:
                return team.slack_channel_id
    return medic.settings.slack_channel_id


_HANDLERS: dict[type, Callable[[MedicProcess, Actor, Any], Reply]] = {
    c.Help: _help,
    c.Status: _status,
    c.ListServices: _list,
    c.Mute: _mute,
    c.Unmute: _unmute,
    c.Alerts: _alerts,
    c.Ack: _ack,
    c.Maintenance: _maintenance,
}
