"""Resources a client can attach as context: the service list and each service's
current status, as JSON. Same reads, same scopes as the tools."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resources import ResourceSecurity

from medic.mcp_server.backend import Backend
from medic.mcp_server.errors import protocol_errors
from medic.mcp_server.schemas import AlertView, ServiceList, ServiceStatus, ServiceView
from medic.ops import alerts, services
from medic.ops.alerts import ListAlerts
from medic.ops.operation import Context as OpsContext
from medic.ops.service_commands import GetService, ListServices

# A resource is read whole: past this many services, use the list_services tool's paging.
MAX_LISTED = 1000


def register_resources(server: MCPServer, backend: Backend) -> None:
    @server.resource(
        "medic://services",
        name="services",
        title="Services",
        description=f"Every monitored service (up to {MAX_LISTED}) with its current status",
        mime_type="application/json",
    )
    @protocol_errors
    def service_list() -> str:
        query = ListServices.of(limit=MAX_LISTED)
        rows, total = services.list_services(backend.context(), query)
        return ServiceList(items=[ServiceView.of(s) for s in rows], total=total).model_dump_json()

    @server.resource(
        "medic://services/{name}",
        name="service",
        title="Service status",
        description="One service's current status and its open alert, if any",
        mime_type="application/json",
        # Names are looked up in the database, never used as paths.
        security=ResourceSecurity(exempt_params=frozenset({"name"})),
    )
    @protocol_errors
    def service_status(name: str) -> str:
        actor = backend.actor()
        context = OpsContext(backend.db, actor)
        service = services.get_service(context, GetService.of(service=name))
        query = ListAlerts.of(active=True, service_id=service.service_id, limit=1)
        open_alerts, _ = alerts.list_alerts(context, query)
        status = ServiceStatus(
            service=ServiceView.of(service),
            open_alert=AlertView.of(open_alerts[0], service.heartbeat_name)
            if open_alerts
            else None,
        )
        return status.model_dump_json()
