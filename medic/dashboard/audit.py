"""The audit log page (admin): who did what, through which front door, to what, with
filters (actor, action, target, front door, outcome, period), paged, and its export as
JSON or CSV (the `audit.export` operation; a CSV cell is never a spreadsheet formula,
medic.core.spreadsheet)."""

from __future__ import annotations

from typing import Annotated, get_args
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from medic.dashboard.pages import HEADERS, PREFIX, page_router, render
from medic.dashboard.periods import PERIODS, bounds
from medic.dashboard.session import VisitorDep
from medic.ops import audit_log
from medic.ops.actor import FrontDoor
from medic.ops.audit_log import ExportEntries, ListEntries

router = page_router()
PAGE_SIZE = 50
FRONT_DOORS = [(door, door) for door in get_args(FrontDoor)]
OUTCOMES = [("success", "success"), ("refused", "refused")]
# Page filter name → the audit query's field.
MATCHING = {
    "actor": "actor_name",
    "action": "action",
    "target_type": "target_type",
    "target_id": "target_id",
    "front_door": "front_door",
    "outcome": "outcome",
}
Text = Annotated[str | None, Query(max_length=255)]
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}


def _filters(**given: str | None) -> dict[str, str]:
    return {name: value.strip() for name, value in given.items() if value and value.strip()}


def _query_fields(filters: dict[str, str]) -> dict[str, object]:
    fields: dict[str, object] = {
        MATCHING[name]: value for name, value in filters.items() if name in MATCHING
    }
    fields.update(bounds(filters.get("period"), filters.get("since"), filters.get("until")))
    return fields


@router.get("/audit")
async def audit_page(
    request: Request,
    visitor: VisitorDep,
    actor: Text = None,
    action: Text = None,
    target_type: Text = None,
    target_id: Text = None,
    front_door: Text = None,
    outcome: Text = None,
    period: Annotated[str | None, Query(max_length=8)] = None,
    since: Annotated[str | None, Query(max_length=64)] = None,
    until: Annotated[str | None, Query(max_length=64)] = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Response:
    filters = _filters(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        front_door=front_door,
        outcome=outcome,
        period=period,
        since=since,
        until=until,
    )
    query = ListEntries.of(**_query_fields(filters), limit=PAGE_SIZE, offset=offset)
    rows, total = await visitor.run(audit_log.list_entries, query)

    def page_url(at: int) -> str:
        return f"{PREFIX}/audit?{urlencode({**filters, 'offset': at})}"

    after = offset + len(rows)
    return render(
        request,
        "audit.html",
        visitor,
        rows=rows,
        total=total,
        offset=offset,
        filters=filters,
        front_doors=FRONT_DOORS,
        outcomes=OUTCOMES,
        periods=PERIODS,
        export_json=f"{PREFIX}/audit/export?{urlencode({**filters, 'format': 'json'})}",
        export_csv=f"{PREFIX}/audit/export?{urlencode({**filters, 'format': 'csv'})}",
        previous_url=page_url(max(0, offset - PAGE_SIZE)) if offset else None,
        next_url=page_url(after) if after < total else None,
    )


@router.get("/audit/export")
async def export(
    visitor: VisitorDep,
    file_format: Annotated[str, Query(alias="format", max_length=8)] = "csv",
    actor: Text = None,
    action: Text = None,
    target_type: Text = None,
    target_id: Text = None,
    front_door: Text = None,
    outcome: Text = None,
    period: Annotated[str | None, Query(max_length=8)] = None,
    since: Annotated[str | None, Query(max_length=64)] = None,
    until: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """A download (attachment), never rendered as a page: the same security headers."""
    filters = _filters(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        front_door=front_door,
        outcome=outcome,
        period=period,
        since=since,
        until=until,
    )
    query = ExportEntries.of(**_query_fields(filters), file_format=file_format)
    body = await visitor.run(audit_log.export_entries, query)
    disposition = f'attachment; filename="medic-audit.{query.file_format}"'
    headers = {**HEADERS, "Content-Disposition": disposition}
    return Response(body, media_type=MEDIA_TYPES[query.file_format], headers=headers)
