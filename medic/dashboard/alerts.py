"""The alerts page: history with filters (open or closed, service, team, the period it
was opened in, read in MEDIC_TIMEZONE), 50 a page, and acknowledging an open alert."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from medic.dashboard.forms import PostedDep, act
from medic.dashboard.inputs import day_start, zone
from medic.dashboard.pages import PREFIX, page_router, render
from medic.dashboard.session import Visitor, VisitorDep
from medic.ops import alert_history, alerts
from medic.ops.alert_history import AlertHistory, AlertHistoryPage
from medic.ops.alerts import AcknowledgeAlert
from medic.ops.errors import MedicError
from medic.ops.operation import Context

router = page_router()
PAGE_SIZE = 50
FILTERS = ("active", "service", "team", "since", "until")
ACTIVE = {"open": True, "closed": False}
ACTIVE_OPTIONS = [("", "Open and closed"), ("open", "Open"), ("closed", "Closed")]


def _query(visitor: Visitor, filters: dict[str, str], offset: str | None) -> AlertHistory:
    tz = zone(None, visitor.medic.settings.medic_timezone)
    active = filters.get("active")
    return AlertHistory.of(
        active=ACTIVE.get(active, active) if active else None,
        service=filters.get("service") or None,
        team=filters.get("team") or None,
        since=day_start(filters.get("since"), "since", tz),
        until=day_start(filters.get("until"), "until", tz, after=True),
        offset=offset or 0,
        limit=PAGE_SIZE,
    )


async def alerts_page(
    request: Request,
    visitor: Visitor,
    filters: dict[str, str],
    offset: str | None = None,
    *,
    error: MedicError | None = None,
) -> Response:
    """The page; an error (bad filter, refused acknowledgement) is shown above it with
    its status, the filters as typed."""
    page = AlertHistoryPage(rows=[], total=0, teams=[])
    start = 0
    try:
        query = _query(visitor, filters, offset)
        page = await visitor.run(alert_history.alert_history, query)
        start = query.offset
    except MedicError as exc:
        error = error or exc
    present = {k: v for k, v in filters.items() if v}

    def page_url(at: int) -> str:
        return f"{PREFIX}/alerts?{urlencode({**present, 'offset': at})}"

    after = start + len(page.rows)
    return render(
        request,
        "alerts.html",
        visitor,
        status_code=error.status_code if error else 200,
        error=error.message if error else None,
        page=page,
        filters=filters,
        start=start,
        active_options=ACTIVE_OPTIONS,
        team_options=[(t, t) for t in page.teams],
        timezone=visitor.medic.settings.medic_timezone,
        previous_url=page_url(max(0, start - PAGE_SIZE)) if start else None,
        next_url=page_url(after) if after < page.total else None,
    )


@router.get("/alerts")
async def alerts_list(
    request: Request,
    visitor: VisitorDep,
    active: Annotated[str | None, Query(max_length=16)] = None,
    service: Annotated[str | None, Query(max_length=255)] = None,
    team: Annotated[str | None, Query(max_length=255)] = None,
    since: Annotated[str | None, Query(max_length=32)] = None,
    until: Annotated[str | None, Query(max_length=32)] = None,
    offset: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    values = {"active": active, "service": service, "team": team, "since": since, "until": until}
    filters = {k: (v or "").strip() for k, v in values.items()}
    return await alerts_page(request, visitor, filters, offset)


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(request: Request, form: PostedDep, alert_id: int) -> Response:
    filters = {name: (form.values.get(name) or "")[:255].strip() for name in FILTERS}
    present = {k: v for k, v in filters.items() if v}

    async def again(error: MedicError) -> Response:
        return await alerts_page(request, form.visitor, filters, error=error)

    def work(context: Context) -> object:
        return alerts.acknowledge(context, AcknowledgeAlert.of(alert_id=alert_id))

    done = f"{PREFIX}/alerts" + (f"?{urlencode(present)}" if present else "")
    return await act(form, work, done=done, notice=f"Alert {alert_id} acknowledged.", again=again)
