"""v2 audit log: who did what, through which front door (admin)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime

from medic.api.auth import admin_access, get_medic
from medic.api.envelope import Envelope, Limit, Offset, page
from medic.ops import audit
from medic.ops.actor import Actor
from medic.runtime import Medic

router = APIRouter(prefix="/audit", tags=["v2 audit"])


def audit_filter(
    action: str | None = None,
    actor_name: str | None = Query(None, alias="actor"),
    front_door: str | None = Query(None, description="api, slack, mcp, cli, dashboard, system"),
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: str | None = None,
    since: AwareDatetime | None = Query(None, description="ISO 8601 with offset"),
    until: AwareDatetime | None = Query(None, description="ISO 8601 with offset, exclusive"),
) -> audit.AuditFilter:
    return audit.AuditFilter(
        action, actor_name, front_door, target_type, target_id, outcome, since, until
    )


Filter = Annotated[audit.AuditFilter, Depends(audit_filter)]


@router.get("", response_model=Envelope, summary="Query the audit log, newest first (paged)")
def list_audit(
    medic: Annotated[Medic, Depends(get_medic)],
    where: Filter,
    actor: Actor = Depends(admin_access),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    rows, total = audit.list_entries(medic.db, actor, where, limit=limit, offset=offset)
    return page([r.model_dump() for r in rows], total, limit, offset)


@router.get(
    "/export",
    summary="Export the audit log as JSON or CSV (same filters, oldest first)",
    response_class=Response,
)
def export_audit(
    medic: Annotated[Medic, Depends(get_medic)],
    where: Filter,
    actor: Actor = Depends(admin_access),
    file_format: Literal["json", "csv"] = Query("json", alias="format"),
) -> Response:
    body = audit.export_entries(medic.db, actor, where, file_format)
    media_type = "text/csv" if file_format == "csv" else "application/json"
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="medic-audit.{file_format}"'},
    )
