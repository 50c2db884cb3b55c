"""Heartbeat Central's API on Medic, so its users switch by changing a host name.

`POST /heartbeat/{uuid}` is a ping URL (no key: the uuid is the credential), and
`/api/applications` maps applications onto services, with that product's field names,
status codes and `{"error": ...}` bodies:

    id → service_id, uuid → ping uuid, name → heartbeat_name,
    expected_interval (s) → alert_interval (min, rounded up), grace_period (s) →
    grace_period_seconds, is_active → active, last_heartbeat → last_heartbeat_at,
    created_at / updated_at → date_added / date_modified.

One difference on purpose: Heartbeat Central's management API is open, Medic's needs a
key like every other route (read to list, write to create and update, admin to
delete), and `uuid` is null for a read key, as ping URLs are everywhere in Medic.
"""

from __future__ import annotations

import math
import uuid as uuid_module
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from medic.api.auth import admin_access, read_access, write_access
from medic.api.errors import refusal_headers
from medic.core.statuses import Status
from medic.ingest.writer import ServiceRef
from medic.ops import heartbeats, services
from medic.ops.actor import Actor
from medic.ops.errors import InvalidInput, MedicError, NotFound
from medic.ops.heartbeats import ListHeartbeats
from medic.ops.service_commands import (
    DeleteService,
    GetService,
    ListServices,
    RegisterService,
    ServiceChanges,
)
from medic.ops.service_view import ServiceView
from medic.ops.validation import describe_validation_error
from medic.process import MedicProcess
from medic.ratelimit import HEARTBEATS
from medic.web.identity import enforce_rate_limit

router = APIRouter(tags=["Heartbeat Central compatibility"])
NOT_FOUND = "Application not found"
RECENT_HEARTBEATS = 10
PAGE_SIZE = 1000


class Application(BaseModel):
    """A service as Heartbeat Central shows an application (intervals in seconds)."""

    id: int
    uuid: str | None = Field(description="null unless the caller may post heartbeats")
    name: str
    expected_interval: int = Field(description="seconds (Medic keeps whole minutes)")
    grace_period: int = Field(description="seconds")
    last_heartbeat: datetime | None
    is_active: bool
    created_at: datetime | None
    updated_at: datetime | None


class ApplicationHeartbeat(BaseModel):
    id: int
    application_id: int
    received_at: datetime | None


class ApplicationDetail(Application):
    is_overdue: bool
    recent_heartbeats: list[ApplicationHeartbeat] = Field(description="the newest ten")


class HeartbeatHistory(BaseModel):
    heartbeats: list[ApplicationHeartbeat]
    total: int
    pages: int
    current_page: int


class HeartbeatReceived(BaseModel):
    status: str = Field(description="ok")
    application: str
    timestamp: datetime


def _error(message: str, status_code: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code, headers=headers)


def _medic_error(exc: MedicError) -> JSONResponse:
    """Medic's refusal in Heartbeat Central's shape; an unknown service is its 404."""
    if isinstance(exc, NotFound):
        return _error(NOT_FOUND, 404)
    return _error(exc.message, exc.status_code, refusal_headers(exc))


Access = Callable[[Request], Awaitable[Actor]]


async def _answer(request: Request, access: Access, work: Any) -> Any:
    """Authenticate, then run `work(medic, actor)`; every refusal as `{"error": ...}`."""
    try:
        actor = await access(request)
        return await work(request.app.state.medic, actor)
    except MedicError as exc:
        return _medic_error(exc)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def application(service: ServiceView) -> dict[str, Any]:
    return {
        "id": service.service_id,
        "uuid": service.uuid,
        "name": service.heartbeat_name,
        "expected_interval": service.alert_interval * 60,
        "grace_period": service.grace_period_seconds,
        "last_heartbeat": _iso(service.last_heartbeat_at),
        "is_active": service.active,
        "created_at": _iso(service.date_added),
        "updated_at": _iso(service.date_modified),
    }


def _is_overdue(service: ServiceView) -> bool:
    if not service.active:
        return False
    due = service.next_due_at
    return service.state == "down" or (due is not None and due < datetime.now(UTC))


def _seconds(data: dict[str, Any], field: str, minimum: int) -> int:
    value = data[field]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"{field} must be a whole number of seconds, at least {minimum}")
    return value


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    """Heartbeat Central's fields present in `data` as service fields (others ignored,
    as Heartbeat Central ignores them)."""
    fields: dict[str, Any] = {}
    if "name" in data:
        fields["heartbeat_name"] = data["name"]
    if "expected_interval" in data:
        fields["alert_interval"] = math.ceil(_seconds(data, "expected_interval", 1) / 60)
    if "grace_period" in data:
        fields["grace_period_seconds"] = _seconds(data, "grace_period", 0)
    if "is_active" in data:
        fields["active"] = data["is_active"]
    return fields


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        data = await request.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) and data else None


def _application_id(value: str) -> int:
    if not value.isascii() or not value.isdigit() or int(value) > 2**31 - 1:
        raise NotFound(NOT_FOUND)
    return int(value)


@router.post(
    "/heartbeat/{app_uuid}",
    response_model=HeartbeatReceived,
    summary="Heartbeat Central: receive a heartbeat",
)
async def receive_heartbeat(request: Request, app_uuid: str) -> JSONResponse:
    medic: MedicProcess = request.app.state.medic
    try:
        service_uuid = str(uuid_module.UUID(app_uuid))
    except ValueError:
        return _error(NOT_FOUND, 404)
    try:
        await enforce_rate_limit(request, medic, HEARTBEATS, f"ping:{service_uuid}", None)
        beat = await heartbeats.record(medic.writer, None, ServiceRef(uuid=service_uuid), Status.UP)
    except InvalidInput:  # the only refusal of a known uuid's UP: the service is inactive
        return _error("Application is not active", 400)
    except MedicError as exc:
        return _medic_error(exc)
    body = {"status": "ok", "application": beat.heartbeat_name, "timestamp": _iso(beat.time)}
    return JSONResponse(body, status_code=200)


@router.get(
    "/api/applications",
    response_model=list[Application],
    summary="Heartbeat Central: list applications",
)
async def list_applications(request: Request) -> Any:
    async def work(medic: MedicProcess, actor: Actor) -> JSONResponse:
        found: list[dict[str, Any]] = []
        while True:
            query = ListServices(limit=PAGE_SIZE, offset=len(found))
            rows, total = await run_in_threadpool(
                services.list_services, medic.context(actor), query
            )
            found += [application(row) for row in rows]
            if not rows or len(found) >= total:
                return JSONResponse(found)

    return await _answer(request, read_access, work)


@router.post(
    "/api/applications",
    status_code=201,
    response_model=Application,
    summary="Heartbeat Central: create an application",
)
async def create_application(request: Request) -> Any:
    async def work(medic: MedicProcess, actor: Actor) -> JSONResponse:
        data = await _json_object(request)
        if data is None or "name" not in data or "expected_interval" not in data:
            return _error("Name and expected_interval are required", 400)
        fields = {"grace_period_seconds": 0, **_fields(data)}
        command = RegisterService.of(**fields)
        created = await run_in_threadpool(services.create, medic.context(actor), command)
        return JSONResponse(application(created), status_code=201)

    return await _answer(request, write_access, work)


@router.get(
    "/api/applications/{app_id}",
    response_model=ApplicationDetail,
    summary="Heartbeat Central: one application",
)
async def get_application(request: Request, app_id: str) -> Any:
    async def work(medic: MedicProcess, actor: Actor) -> JSONResponse:
        service_id = _application_id(app_id)
        context = medic.context(actor)
        found = await run_in_threadpool(
            services.get_service, context, GetService(service=service_id)
        )
        query = ListHeartbeats(service_id=service_id, limit=RECENT_HEARTBEATS)
        beats, _ = await run_in_threadpool(heartbeats.list_heartbeats, context, query)
        body = application(found)
        body["is_overdue"] = _is_overdue(found)
        body["recent_heartbeats"] = [_heartbeat(beat) for beat in beats]
        return JSONResponse(body)

    return await _answer(request, read_access, work)


@router.put(
    "/api/applications/{app_id}",
    response_model=Application,
    summary="Heartbeat Central: update an application",
)
async def update_application(request: Request, app_id: str) -> Any:
    async def work(medic: MedicProcess, actor: Actor) -> JSONResponse:
        service_id = _application_id(app_id)
        data = await _json_object(request)
        if data is None:
            await run_in_threadpool(
                services.get_service, medic.context(actor), GetService(service=service_id)
            )
            return _error("No data provided", 400)
        try:
            changes = ServiceChanges.model_validate(_fields(data))
        except ValidationError as exc:
            raise InvalidInput(describe_validation_error(list(exc.errors()))) from None
        context = medic.context(actor)
        if changes.model_fields_set:
            updated = await run_in_threadpool(services.apply_changes, context, service_id, changes)
        else:  # only fields Heartbeat Central does not know: nothing changes
            updated = await run_in_threadpool(
                services.get_service, context, GetService(service=service_id)
            )
        return JSONResponse(application(updated))

    return await _answer(request, write_access, work)


@router.delete(
    "/api/applications/{app_id}",
    status_code=204,
    response_class=Response,
    response_model=None,
    summary="Heartbeat Central: delete an application",
)
async def delete_application(request: Request, app_id: str) -> Any:
    async def work(medic: MedicProcess, actor: Actor) -> Response:
        command = DeleteService(service=_application_id(app_id))
        await run_in_threadpool(services.delete_service, medic.context(actor), command)
        return Response(status_code=204)

    return await _answer(request, admin_access, work)


@router.get(
    "/api/applications/{app_id}/heartbeats",
    response_model=HeartbeatHistory,
    summary="Heartbeat Central: an application's heartbeats, newest first (paged)",
)
async def application_heartbeats(request: Request, app_id: str) -> Any:
    async def work(medic: MedicProcess, actor: Actor) -> JSONResponse:
        service_id = _application_id(app_id)
        page = _int_arg(request, "page", 1)
        per_page = _int_arg(request, "per_page", 50)
        context = medic.context(actor)
        await run_in_threadpool(services.get_service, context, GetService(service=service_id))
        query = ListHeartbeats.of(
            service_id=service_id, limit=per_page, offset=(page - 1) * per_page
        )
        beats, total = await run_in_threadpool(heartbeats.list_heartbeats, context, query)
        body = {
            "heartbeats": [_heartbeat(beat) for beat in beats],
            "total": total,
            "pages": math.ceil(total / per_page),
            "current_page": page,
        }
        return JSONResponse(body)

    return await _answer(request, read_access, work)


def _int_arg(request: Request, name: str, default: int) -> int:
    """As Flask's `args.get(name, default, type=int)`: a value that is no integer is the
    default; and at least 1 (per_page at most 1000, Medic's page limit)."""
    raw = request.query_params.get(name)
    value = int(raw) if raw is not None and raw.isascii() and raw.isdigit() else default
    value = max(value, 1)
    return min(value, PAGE_SIZE) if name == "per_page" else min(value, 2**31)


def _heartbeat(beat: heartbeats.HeartbeatView) -> dict[str, Any]:
    return {
        "id": beat.heartbeat_id,
        "application_id": beat.service_id,
        "received_at": _iso(beat.time),
    }
