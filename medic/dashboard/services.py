"""The services page (filters, search, paging) and registering a service, with a
preview of the deadlines its schedule would give before it is saved."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from medic.core.service_health import HEALTHS
from medic.dashboard.forms import PostedDep, act
from medic.dashboard.pages import PREFIX, page_router, render
from medic.dashboard.session import Visitor, VisitorDep
from medic.ops import badges, service_browser, services
from medic.ops.badges import GetBadge
from medic.ops.errors import MedicError, NotFound
from medic.ops.operation import Context
from medic.ops.service_browser import BrowseServices
from medic.ops.service_commands import PRIORITIES, RegisterService

router = page_router()
PAGE_SIZE = 50
SCHEDULE_KINDS = [("interval", "Interval"), ("cron", "Cron"), ("window", "Window")]
REGISTER_FIELDS = (
    "heartbeat_name",
    "service_name",
    "team",
    "priority",
    "runbook",
    "schedule_type",
    "alert_interval",
    "threshold",
    "cron_expression",
    "timezone",
    "grace_period_seconds",
    "max_duration_seconds",
    "alert_after_failures",
    "recover_after_successes",
    "min_duration_seconds",
    "max_beats",
    "start_grace_seconds",
)


@router.get("/services")
async def services_page(
    request: Request,
    visitor: VisitorDep,
    team: Annotated[str | None, Query(max_length=255)] = None,
    health: Annotated[str | None, Query(max_length=16)] = None,
    search: Annotated[str | None, Query(max_length=255)] = None,
    offset: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    filters = {"team": team or None, "health": health or None, "search": search or None}
    query = BrowseServices.of(**filters, offset=offset or 0, limit=PAGE_SIZE)
    page = await visitor.run(service_browser.browse, query)
    team_badge = None
    if query.team and query.team in page.teams:
        try:
            team_badge = await visitor.run(badges.get_badge, GetBadge.of(team=query.team))
        except NotFound:  # a team services name without a row in teams: no badge
            team_badge = None

    def page_url(at: int) -> str:
        present = {k: v for k, v in filters.items() if v}
        return f"{PREFIX}/services?{urlencode({**present, 'offset': at})}"

    after = query.offset + len(page.rows)
    return render(
        request,
        "services.html",
        visitor,
        page=page,
        query=query,
        teams_options=[(name, name) for name in page.teams],
        health_options=[(word, word) for word in HEALTHS],
        team_badge=team_badge if team_badge and team_badge.svg_url else None,
        previous_url=page_url(max(0, query.offset - PAGE_SIZE)) if query.offset else None,
        next_url=page_url(after) if after < page.total else None,
    )


def _register_page(
    request: Request,
    visitor: Visitor,
    values: dict[str, str],
    *,
    deadlines: list | None = None,
    error: MedicError | None = None,
) -> Response:
    return render(
        request,
        "service_new.html",
        visitor,
        status_code=error.status_code if error else 200,
        error=error.message if error else None,
        values={name: values.get(name, "") for name in REGISTER_FIELDS},
        deadlines=deadlines,
        priorities=[(p, p) for p in PRIORITIES],
        schedule_kinds=SCHEDULE_KINDS,
        default_timezone=visitor.medic.settings.medic_timezone,
    )


@router.get("/services/new")
async def register_page(request: Request, visitor: VisitorDep) -> Response:
    return _register_page(request, visitor, {})


@router.post("/services/new")
async def register(request: Request, form: PostedDep) -> Response:
    visitor = form.visitor
    values = form.given(*REGISTER_FIELDS)

    async def again(error: MedicError) -> Response:
        return _register_page(request, visitor, form.values, error=error)

    if form.get("intent") == "preview":
        try:
            command = RegisterService.of(**values)
            deadlines = await visitor.run(service_browser.preview_deadlines, command)
        except MedicError as exc:
            return await again(exc)
        return _register_page(request, visitor, form.values, deadlines=deadlines)

    def work(context: Context) -> int:
        return services.create(context, RegisterService.of(**values)).service_id

    return await act(
        form,
        work,
        done=lambda service_id: f"{PREFIX}/services/{service_id}",
        notice="Registered.",
        again=again,
    )
