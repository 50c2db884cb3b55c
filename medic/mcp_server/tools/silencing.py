"""Silencing notifications: mute and unmute a service, open a maintenance window.
Both silence notifications only; detection goes on and states still change."""

from datetime import UTC, datetime
from typing import Annotated

from mcp.server.mcpserver import Context, ElicitationResult, Resolve
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult
from pydantic import AwareDatetime, Field

from medic.mcp_server.backend import backend_of
from medic.mcp_server.confirm import Answer, Confirmation, ask, confirmed
from medic.mcp_server.inputs import Duration, Reason, ServiceName
from medic.mcp_server.links import service_link, with_links
from medic.mcp_server.schemas import ServiceView, WindowOut
from medic.mcp_server.tools.define import define
from medic.mcp_server.tools.hints import SILENCE, UNMUTE
from medic.ops import maintenance
from medic.ops import services as service_ops
from medic.ops.errors import InvalidInput
from medic.ops.maintenance import CreateWindow
from medic.ops.service_commands import GetService, MuteService, UnmuteService


def _confirm_mute(ctx: Context, service: str, duration: object, reason: str) -> Answer:
    return ask(
        ctx,
        f"Mute {service!r} for {duration}? Its notifications stop until then; detection "
        f"goes on. The assistant's reason: {reason[:300]!r}",
    )


def mute_service(
    ctx: Context,
    confirmation: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_mute)],
    service: ServiceName,
    duration: Duration,
    reason: Reason,
) -> Annotated[CallToolResult, ServiceView]:
    """Silence a service's notifications for a while, e.g. during a known outage or a
    deploy. Detection goes on (its state and alerts still change); it unmutes itself
    when `duration` passes. Muting again restarts the duration from now. Your user is
    asked to confirm first where their client can show the question."""
    backend = backend_of(ctx)
    confirmed(ctx, confirmation, "service.mute", "service", service)
    command = MuteService.of(service=service, duration=duration, reason=reason)
    muted = ServiceView.of(service_ops.mute(backend.context(), command))
    base = backend.settings.medic_base_url
    return with_links(muted, [service_link(base, muted.heartbeat_name)])


def unmute_service(ctx: Context, service: ServiceName) -> ServiceView:
    """Resume a muted service's notifications now. If it went down while muted, that
    is announced at once."""
    backend = backend_of(ctx)
    unmuted = service_ops.unmute(backend.context(), UnmuteService.of(service=service))
    return ServiceView.of(unmuted)


def _confirm_window(
    ctx: Context,
    name: str,
    reason: str,
    services: list[str] | None,
    all_services: bool,
    starts_at: object,
    ends_at: object,
    duration: object,
    cron_expression: str | None,
) -> Answer:
    covered = "every service" if all_services else ", ".join(services or ())[:300]
    when = (
        f"on the schedule {cron_expression!r} for {duration} each time"
        if cron_expression
        else f"from {starts_at or 'now'} until {ends_at or f'{duration} later'}"
    )
    return ask(
        ctx,
        f"Open the maintenance window {name!r} over {covered}, {when}? Their "
        f"notifications are silenced meanwhile. The assistant's reason: {reason[:300]!r}",
    )


def create_maintenance_window(
    ctx: Context,
    confirmation: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_window)],
    name: Annotated[
        str, Field(min_length=1, max_length=255, description="a short title, e.g. 'db upgrade'")
    ],
    reason: Reason,
    services: Annotated[
        list[ServiceName] | None,
        Field(
            min_length=1, max_length=200, description="heartbeat names of the services it covers"
        ),
    ] = None,
    all_services: Annotated[
        bool, Field(description="true: cover every service (then leave `services` out)")
    ] = False,
    starts_at: Annotated[
        AwareDatetime | None,
        Field(description="one-time window: when it opens, ISO 8601 with offset; default now"),
    ] = None,
    ends_at: Annotated[
        AwareDatetime | None,
        Field(description="one-time window: when it closes (or give `duration`)"),
    ] = None,
    duration: Annotated[
        Duration | None,
        Field(
            description="one-time: how long from starts_at, instead of ends_at; "
            "recurring: how long each occurrence lasts. E.g. '2h'"
        ),
    ] = None,
    cron_expression: Annotated[
        str | None,
        Field(
            max_length=255,
            description="recurring window: five-field cron at which each occurrence opens, "
            "e.g. '0 2 * * 0' (Sundays at 02:00); needs `duration`",
        ),
    ] = None,
    timezone: Annotated[
        str | None, Field(max_length=64, description="IANA zone for the cron; default the server's")
    ] = None,
) -> Annotated[CallToolResult, WindowOut]:
    """Silence notifications for some services (or all) during planned work: once
    (starts_at .. ends_at, or starts_at + duration) or on a schedule (cron_expression +
    duration). Medic announces its start and end; states still change inside it. Your
    user is asked to confirm first where their client can show the question."""
    backend = backend_of(ctx)
    # This tool's own arguments: services by name or all of them; a one-time window
    # opens now unless starts_at says otherwise, and ends at ends_at or after duration.
    if all_services == bool(services):
        raise InvalidInput("name the `services` it covers, or set all_services (not both)")
    one_time = cron_expression is None
    if one_time and (ends_at is None) == (duration is None):
        raise InvalidInput("a one-time window needs ends_at or duration (one of them)")
    service_ids = (
        None
        if all_services
        else [
            service_ops.get_service(backend.context(), GetService.of(service=n)).service_id
            for n in services or ()
        ]
    )
    command = CreateWindow.of(
        name=name,
        reason=reason,
        service_ids=service_ids,
        starts_at=starts_at or (datetime.now(UTC) if one_time else None),
        ends_at=ends_at,
        duration=duration,
        cron_expression=cron_expression,
        timezone=timezone,
    )
    target = ",".join(services or ()) if not all_services else "all"
    confirmed(ctx, confirmation, "maintenance.create", "maintenance_window", f"{name} ({target})")
    window = WindowOut.of(maintenance.create_window(backend.context(), command))
    base = backend.settings.medic_base_url
    return with_links(window, [service_link(base, n) for n in services or ()])


def tools() -> list[Tool]:
    return [
        define(mute_service, "Mute a service", SILENCE),
        define(unmute_service, "Unmute a service", UNMUTE),
        define(create_maintenance_window, "Create a maintenance window", SILENCE),
    ]
