"""v2 services: CRUD including schedules, mute and unmute."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from medic.api.auth import admin_access, get_medic, read_access, write_access
from medic.ops import services
from medic.ops.actor import Actor
from medic.ops.fields import Reason
from medic.ops.service_commands import (
    DeleteService,
    GetService,
    ListServices,
    MuteService,
    RegisterService,
    ServiceChanges,
    UnmuteService,
)
from medic.ops.service_view import ServiceView
from medic.process import MedicProcess
from medic.web.envelope import Envelope, Limit, Offset, Page, envelope, page
from medic.web.params import row_id

router = APIRouter(prefix="/services", tags=["v2 services"])
ServiceId = row_id("service")
MedicDep = Annotated[MedicProcess, Depends(get_medic)]


class ServiceDeleted(BaseModel):
    service_id: int


class MuteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    duration: str | None = Field(
        default=None, description="e.g. 30m, 1h, 2d; default ALERT_AUTO_UNMUTE_HOURS"
    )
    reason: Reason | None = None


@router.get("", response_model=Envelope[Page[ServiceView]], summary="List services (paged)")
def list_services(
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    team: str | None = None,
    state: str | None = None,
    active: bool | None = None,
    service_name: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    query = ListServices.of(
        team=team,
        state=state,
        active=active,
        service_name=service_name,
        limit=limit,
        offset=offset,
    )
    rows, total = services.list_services(medic.context(actor), query)
    return page(rows, total, limit, offset)


@router.post(
    "",
    status_code=201,
    response_model=Envelope[ServiceView],
    summary="Register a service (409 if the name exists)",
)
def create_service(
    spec: RegisterService, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    return envelope(services.create(medic.context(actor), spec), "service registered", 201)


@router.get("/{service_id}", response_model=Envelope[ServiceView], summary="One service")
def get_service(
    service_id: ServiceId, medic: MedicDep, actor: Actor = Depends(read_access)
) -> JSONResponse:
    return envelope(services.get_service(medic.context(actor), GetService.of(service=service_id)))


@router.patch(
    "/{service_id}", response_model=Envelope[ServiceView], summary="Change some fields of a service"
)
def update_service(
    service_id: ServiceId,
    changes: ServiceChanges,
    medic: MedicDep,
    actor: Actor = Depends(write_access),
) -> JSONResponse:
    service = services.apply_changes(medic.context(actor), service_id, changes)
    return envelope(service, "service updated")


@router.delete(
    "/{service_id}",
    response_model=Envelope[ServiceDeleted],
    summary="Delete a service and its history (admin)",
)
def delete_service(
    service_id: ServiceId, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    services.delete_service(medic.context(actor), DeleteService.of(service=service_id))
    return envelope({"service_id": service_id}, "service deleted")


@router.post(
    "/{service_id}/mute",
    response_model=Envelope[ServiceView],
    summary="Silence notifications for a while",
)
def mute_service(
    service_id: ServiceId,
    medic: MedicDep,
    body: MuteIn | None = None,
    actor: Actor = Depends(write_access),
) -> JSONResponse:
    values = (body or MuteIn()).model_dump(exclude_none=True)
    service = services.mute(medic.context(actor), MuteService.of(service=service_id, **values))
    return envelope(service, "service muted")


@router.post(
    "/{service_id}/unmute", response_model=Envelope[ServiceView], summary="Resume notifications"
)
def unmute_service(
    service_id: ServiceId, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    service = services.unmute(medic.context(actor), UnmuteService.of(service=service_id))
    return envelope(service, "service unmuted")
