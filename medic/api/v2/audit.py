"""v2 audit log: who did what, through which front door (admin)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime

from medic.api.auth import admin_access, get_medic
from medic.ops import audit_log
from medic.ops.actor import Actor, FrontDoor
from medic.ops.audit_log import AuditEntryView, ExportEntries, ListEntries
from medic.process import MedicProcess
from medic.web.envelope import Envelope, Limit, Offset, Page, page

router = APIRouter(prefix="/audit", tags=["v2 audit"])


def audit_filter(
    action: str | None = None,
    actor_name: str | None = Query(None, alias="actor"),
    front_door: FrontDoor | None = Query(None, description="which door the action came through"),
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: str | None = None,
    since: AwareDatetime | None = Query(None, description="ISO 8601 with offset"),
    until: AwareDatetime | None = Query(None, description="ISO 8601 with offset, exclusive"),
) -> dict[str, Any]:
    """The filters as the audit query commands name them."""
    return {
        "action": action,
        "actor_name": actor_name,
        "front_door": front_door,
        "target_type": target_type,
        "target_id": target_id,
        "outcome": outcome,
        "since": since,
        "until": until,
    }


Filter = Annotated[dict[str, Any], Depends(audit_filter)]


@router.get(
    "",
    response_model=Envelope[Page[AuditEntryView]],
    summary="Query the audit log, newest first (paged)",
)
def list_audit(
    medic: Annotated[MedicProcess, Depends(get_medic)],
    where: Filter,
    actor: Actor = Depends(admin_access),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    query = ListEntries.of(**where, limit=limit, offset=offset)
    rows, total = audit_log.list_entries(medic.context(actor), query)
    return page(rows, total, limit, offset)


@router.get(
    "/export",
    summary="Export the audit log as JSON or CSV (same filters, oldest first)",
    response_class=Response,
)
def export_audit(
    medic: Annotated[MedicProcess, Depends(get_medic)],
    where: Filter,
    actor: Actor = Depends(admin_access),
    file_format: Literal["json", "csv"] = Query("json", alias="format"),
) -> Response:
    query = ExportEntries.of(**where, file_format=file_format)
    body = audit_log.export_entries(medic.context(actor), query)
    media_type = "text/csv" if file_format == "csv" else "application/json"
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="medic-audit.{file_format}"'},
    )
