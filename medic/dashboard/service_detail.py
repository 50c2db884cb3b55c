"""One service: its state and why, history, heartbeats, job runs (chart and stats), its
ping URL (to keys that may post heartbeats) and badges, and the actions on it: mute,
unmute, open a maintenance window, rotate its badge URL."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from medic.core.service_health import health
from medic.dashboard.charts import HEIGHT, WIDTH, format_ms, run_bars
from medic.dashboard.forms import Posted, PostedDep, act
from medic.dashboard.pages import PREFIX, page_router, render
from medic.dashboard.session import Visitor, VisitorDep
from medic.ops import badges, heartbeats, maintenance, runs, services
from medic.ops.badges import GetBadge, RotateBadge
from medic.ops.errors import MedicError
from medic.ops.heartbeats import ListHeartbeats
from medic.ops.maintenance import CreateWindow
from medic.ops.operation import Context
from medic.ops.runs import GetRunStats, ListRuns, ListStateChanges
from medic.ops.service_commands import GetService, MuteService, UnmuteService

router = page_router()
RECENT = 20
RUNS_CHARTED = 50


async def detail_page(
    request: Request,
    visitor: Visitor,
    service_id: int,
    *,
    error: MedicError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The page; with `error` (a refused or invalid form), shown above it with the
    error's status, and the form `values` kept."""
    service = await visitor.run(services.get_service, GetService.of(service=service_id))
    history, _ = await visitor.run(
        runs.state_history, ListStateChanges.of(service=service_id, limit=RECENT)
    )
    beats, _ = await visitor.run(
        heartbeats.list_heartbeats, ListHeartbeats.of(service_id=service_id, limit=RECENT)
    )
    recent_runs, _ = await visitor.run(
        runs.list_runs, ListRuns.of(service=service_id, limit=RUNS_CHARTED)
    )
    stats = await visitor.run(runs.run_stats, GetRunStats.of(service=service_id))
    badge = await visitor.run(badges.get_badge, GetBadge.of(service=service_id))
    word = health(
        state=service.state,
        active=service.active,
        next_due_at=service.next_due_at,
        grace_period_seconds=service.grace_period_seconds,
        now=datetime.now(UTC),
    )
    return render(
        request,
        "service.html",
        visitor,
        status_code=error.status_code if error else 200,
        error=error.message if error else None,
        service=service,
        health=word,
        history=history,
        beats=beats,
        runs=recent_runs[:RECENT],
        bars=run_bars(recent_runs),
        chart={"width": WIDTH, "height": HEIGHT},
        stats=stats,
        ms=format_ms,
        badge=badge,
        values=values or {},
    )


@router.get("/services/{service_id}")
async def service_page(request: Request, visitor: VisitorDep, service_id: int) -> Response:
    return await detail_page(request, visitor, service_id)


@router.get("/services/named/{heartbeat_name}")
async def service_page_by_name(
    request: Request, visitor: VisitorDep, heartbeat_name: str
) -> Response:
    """Where links that know a service by name land (MCP results): its page by id."""
    service = await visitor.run(services.get_service, GetService.of(service=heartbeat_name))
    return RedirectResponse(_done(service.service_id), status_code=303)


def _done(service_id: int) -> str:
    return f"{PREFIX}/services/{service_id}"


async def _act(
    request: Request, form: Posted, service_id: int, work: object, notice: str
) -> Response:
    async def again(error: MedicError) -> Response:
        return await detail_page(request, form.visitor, service_id, error=error, values=form.values)

    return await act(form, work, done=_done(service_id), notice=notice, again=again)  # type: ignore[arg-type]


@router.post("/services/{service_id}/mute")
async def mute(request: Request, form: PostedDep, service_id: int) -> Response:
    def work(context: Context) -> object:
        command = MuteService.of(service=service_id, **form.given("duration", "reason"))
        return services.mute(context, command)

    return await _act(request, form, service_id, work, "Muted.")


@router.post("/services/{service_id}/unmute")
async def unmute(request: Request, form: PostedDep, service_id: int) -> Response:
    def work(context: Context) -> object:
        return services.unmute(context, UnmuteService.of(service=service_id))

    return await _act(request, form, service_id, work, "Unmuted.")


@router.post("/services/{service_id}/maintenance")
async def open_maintenance(request: Request, form: PostedDep, service_id: int) -> Response:
    def work(context: Context) -> object:
        service = services.get_service(context, GetService.of(service=service_id))
        command = CreateWindow.of(
            name=form.get("name") or f"maintenance of {service.heartbeat_name}",
            service_ids=[service_id],
            **form.given("duration", "reason"),
        )
        return maintenance.create_window(context, command)

    return await _act(request, form, service_id, work, "Maintenance window opened.")


@router.post("/services/{service_id}/badge")
async def rotate_badge(request: Request, form: PostedDep, service_id: int) -> Response:
    def work(context: Context) -> object:
        return badges.rotate_badge(context, RotateBadge.of(service=service_id))

    notice = "New badge URLs; the old ones stopped working."
    return await _act(request, form, service_id, work, notice)
