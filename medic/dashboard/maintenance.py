"""Maintenance windows: the list (open now, next change), creating one-time or recurring
(cron in a time zone) windows, editing and deleting them. Services are typed by their
heartbeat names; dates come from the browser's date-and-time picker, read in the time
zone the form names (MEDIC_TIMEZONE by default)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import Request, Response

from medic.dashboard.forms import Posted, PostedDep, act
from medic.dashboard.inputs import items, local_instant, zone
from medic.dashboard.pages import PREFIX, page_router, render
from medic.dashboard.session import Visitor, VisitorDep
from medic.ops import maintenance, maintenance_update, services
from medic.ops.errors import InvalidInput, MedicError, NotFound
from medic.ops.maintenance import CreateWindow, DeleteWindow, GetWindow, ListWindows, WindowView
from medic.ops.maintenance_update import UpdateWindow
from medic.ops.operation import Context
from medic.ops.service_commands import GetService

router = page_router()
FIELDS = (
    "name",
    "reason",
    "services",
    "kind",
    "starts_at",
    "ends_at",
    "cron_expression",
    "duration",
    "timezone",
)
KINDS = [("once", "One-time"), ("recurring", "Recurring (cron)")]
SHOWN_SERVICES = 5


def _picker(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%dT%H:%M") if value else ""


def window_command(context: Context, form: Posted) -> CreateWindow:
    """The form as a window definition; unknown service names are refused naming the
    field."""
    tz = zone(form.get("timezone"), context.settings.medic_timezone)
    service_ids = []
    for name in items(form.get("services")):
        try:
            found = services.get_service(context, GetService.of(service=name))
        except NotFound as exc:
            raise InvalidInput(f"services: {exc.message}") from None
        service_ids.append(found.service_id)
    values: dict[str, object] = {
        **form.given("name", "reason", "duration", "timezone"),
        "service_ids": service_ids or None,
    }
    if form.get("kind") == "recurring":
        values.update(form.given("cron_expression"))
    else:
        values["starts_at"] = local_instant(form.get("starts_at"), "starts_at", tz)
        values["ends_at"] = local_instant(form.get("ends_at"), "ends_at", tz)
    return CreateWindow.of(**values)


async def _service_names(visitor: Visitor, ids: list[int] | None, limit: int | None) -> list[str]:
    names = []
    for service_id in (ids or [])[:limit]:
        try:
            found = await visitor.run(services.get_service, GetService.of(service=service_id))
            names.append(found.heartbeat_name)
        except NotFound:
            names.append(f"#{service_id} (deleted)")
    return names


async def list_page(
    request: Request,
    visitor: Visitor,
    *,
    error: MedicError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    windows, total = await visitor.run(maintenance.list_windows, ListWindows.of())
    covered = {
        w.window_id: await _service_names(visitor, w.service_ids, SHOWN_SERVICES) for w in windows
    }
    return render(
        request,
        "maintenance.html",
        visitor,
        status_code=error.status_code if error else 200,
        error=error.message if error else None,
        windows=windows,
        total=total,
        covered=covered,
        values={name: (values or {}).get(name, "") for name in FIELDS},
        kinds=KINDS,
        default_timezone=visitor.medic.settings.medic_timezone,
    )


def _form_values(window: WindowView, names: list[str]) -> dict[str, str]:
    tz = ZoneInfo(window.timezone)
    return {
        "name": window.name,
        "reason": window.reason or "",
        "services": ", ".join(names),
        "kind": "recurring" if window.recurring else "once",
        "starts_at": _picker(window.starts_at, tz),
        "ends_at": _picker(window.ends_at, tz),
        "cron_expression": window.cron_expression or "",
        "duration": f"{window.duration_minutes}m" if window.duration_minutes else "",
        "timezone": window.timezone,
    }


async def edit_page(
    request: Request,
    visitor: Visitor,
    window_id: int,
    *,
    error: MedicError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    window = await visitor.run(maintenance.get_window, GetWindow.of(window_id=window_id))
    if values is None:
        values = _form_values(window, await _service_names(visitor, window.service_ids, None))
    return render(
        request,
        "maintenance_edit.html",
        visitor,
        status_code=error.status_code if error else 200,
        error=error.message if error else None,
        window=window,
        values={name: values.get(name, "") for name in FIELDS},
        kinds=KINDS,
        default_timezone=visitor.medic.settings.medic_timezone,
    )


@router.get("/maintenance")
async def maintenance_page(request: Request, visitor: VisitorDep) -> Response:
    return await list_page(request, visitor)


@router.post("/maintenance")
async def create(request: Request, form: PostedDep) -> Response:
    async def again(error: MedicError) -> Response:
        return await list_page(request, form.visitor, error=error, values=form.values)

    def work(context: Context) -> object:
        return maintenance.create_window(context, window_command(context, form))

    done = f"{PREFIX}/maintenance"
    return await act(form, work, done=done, notice="Maintenance window created.", again=again)


@router.get("/maintenance/{window_id}")
async def edit(request: Request, visitor: VisitorDep, window_id: int) -> Response:
    return await edit_page(request, visitor, window_id)


@router.post("/maintenance/{window_id}")
async def update(request: Request, form: PostedDep, window_id: int) -> Response:
    async def again(error: MedicError) -> Response:
        return await edit_page(request, form.visitor, window_id, error=error, values=form.values)

    def work(context: Context) -> object:
        command = UpdateWindow.of(window_id=window_id, window=window_command(context, form))
        return maintenance_update.update_window(context, command)

    done = f"{PREFIX}/maintenance"
    return await act(form, work, done=done, notice="Maintenance window saved.", again=again)


@router.post("/maintenance/{window_id}/delete")
async def delete(request: Request, form: PostedDep, window_id: int) -> Response:
    async def again(error: MedicError) -> Response:
        return await list_page(request, form.visitor, error=error)

    def work(context: Context) -> object:
        return maintenance.delete_window(context, DeleteWindow.of(window_id=window_id))

    done = f"{PREFIX}/maintenance"
    return await act(form, work, done=done, notice="Maintenance window deleted.", again=again)
