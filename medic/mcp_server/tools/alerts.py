"""Alerts: list them (open ones first of all), acknowledge one."""

from typing import Annotated

from mcp.server.mcpserver import Context, ElicitationResult, Resolve
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult
from pydantic import Field

from medic.mcp_server.backend import backend_of
from medic.mcp_server.confirm import Answer, Confirmation, ask, confirmed
from medic.mcp_server.inputs import AlertId, Offset, ServiceName, page_size
from medic.mcp_server.links import service_link, with_links
from medic.mcp_server.schemas import AlertList, AlertView
from medic.mcp_server.tools.define import define
from medic.mcp_server.tools.hints import ACKNOWLEDGE, READ
from medic.ops import alerts, services
from medic.ops.alerts import AcknowledgeAlert, ListAlerts
from medic.ops.operation import Context as OpsContext
from medic.ops.service_commands import GetService


def alert_views(context: OpsContext, rows: list[alerts.AlertView]) -> list[AlertView]:
    """Alerts with their service's heartbeat name, which is what the other tools take."""
    names = {
        service_id: services.get_service(context, GetService.of(service=service_id)).heartbeat_name
        for service_id in {alert.service_id for alert in rows}
    }
    return [AlertView.of(alert, names.get(alert.service_id)) for alert in rows]


def list_alerts(
    ctx: Context,
    active: Annotated[
        bool | None,
        Field(description="true (default): open alerts only; false: closed ones; null: all"),
    ] = True,
    service: Annotated[ServiceName | None, Field(description="only this service's alerts")] = None,
    limit: Annotated[int, page_size(50, 500)] = 50,
    offset: Offset = 0,
) -> AlertList:
    """Alerts, newest first. An alert opens when a service is late or reports a
    failure and closes when it recovers; `acknowledged_by` says someone is on it."""
    context = backend_of(ctx).context()
    service_id = (
        services.get_service(context, GetService.of(service=service)).service_id
        if service
        else None
    )
    query = ListAlerts.of(active=active, service_id=service_id, limit=limit, offset=offset)
    rows, total = alerts.list_alerts(context, query)
    return AlertList(items=alert_views(context, rows), total=total)


def _confirm_acknowledge(ctx: Context, alert_id: int) -> Answer:
    return ask(
        ctx,
        f"Acknowledge alert #{alert_id} in your name? The team sees that someone is on it.",
    )


def acknowledge_alert(
    ctx: Context,
    confirmation: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_acknowledge)],
    alert_id: AlertId,
) -> Annotated[CallToolResult, AlertView]:
    """Mark an open alert as acknowledged (someone is on it), in your key's name. It
    silences nothing (mute_service does); acknowledging again keeps the first one.
    Your user is asked to confirm first where their client can show the question."""
    backend = backend_of(ctx)
    confirmed(ctx, confirmation, "alert.acknowledge", "alert", alert_id)
    context = backend.context()
    alert = alerts.acknowledge(context, AcknowledgeAlert.of(alert_id=alert_id))
    view = alert_views(context, [alert])[0]
    base = backend.settings.medic_base_url
    links = [service_link(base, view.heartbeat_name)] if view.heartbeat_name else []
    return with_links(view, links)


def tools() -> list[Tool]:
    return [
        define(list_alerts, "List alerts", READ),
        define(acknowledge_alert, "Acknowledge an alert", ACKNOWLEDGE),
    ]
