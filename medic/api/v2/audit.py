"""v2 audit log: who did what, through which front door (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from medic.api.auth import admin_access, get_medic
from medic.api.envelope import Envelope, page
from medic.ops import audit
from medic.ops.actor import Actor
from medic.runtime import Medic

router = APIRouter(prefix="/audit", tags=["v2 audit"])


@router.get("", response_model=Envelope, summary="Query the audit log, newest first (paged)")
def list_audit(
    medic: Annotated[Medic, Depends(get_medic)],
    actor: Actor = Depends(admin_access),
    action: str | None = None,
    actor_name: str | None = Query(None, alias="actor"),
    target_type: str | None = None,
    target_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> JSONResponse:
    rows, total = audit.list_entries(
        medic.db,
        actor,
        action=action,
        actor_name=actor_name,
        target_type=target_type,
        target_id=target_id,
        limit=limit,
        offset=offset,
    )
    return page([r.model_dump() for r in rows], total, limit, offset)
