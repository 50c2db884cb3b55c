"""v2 services: CRUD including schedules, mute and unmute."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from medic.api.auth import admin_access, get_medic, read_access, write_access
from medic.api.envelope import Envelope, Limit, Offset, envelope, page
from medic.api.v2.schemas import ServiceOut
from medic.core.durations import parse_duration
from medic.ops import services
from medic.ops.actor import Actor
from medic.ops.errors import InvalidInput
from medic.runtime import Medic

router = APIRouter(prefix="/services", tags=["v2 services"])
MedicDep = Annotated[Medic, Depends(get_medic)]


class MuteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    duration: str | None = Field(
        default=None, description="e.g. 30m, 1h, 2d; default ALERT_AUTO_UNMUTE_HOURS"
    )
    reason: str | None = Field(default=None, max_length=1000)


def _out(medic: Medic, service: object) -> dict:
    return ServiceOut.of(service, medic.settings.medic_base_url).model_dump()  # type: ignore[arg-type]


@router.get("", response_model=Envelope, summary="List services (paged)")
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
    rows, total = services.list_services(
        medic.db,
        actor,
        team=team,
        state=state,
        active=active,
        service_name=service_name,
        limit=limit,
        offset=offset,
    )
    return page([_out(medic, s) for s in rows], total, limit, offset)


@router.post(
    "",
    status_code=201,
    response_model=Envelope,
    summary="Register a service (409 if the name exists)",
)
def create_service(
    spec: services.ServiceSpec, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    service = services.create(medic.db, actor, spec, medic.settings.medic_timezone)
    return envelope(_out(medic, service), "service registered", 201)


@router.get("/{service_id}", response_model=Envelope, summary="One service")
def get_service(
    service_id: int, medic: MedicDep, actor: Actor = Depends(read_access)
) -> JSONResponse:
    return envelope(_out(medic, services.get_service(medic.db, actor, service_id)))


@router.patch("/{service_id}", response_model=Envelope, summary="Change some fields of a service")
def update_service(
    service_id: int,
    changes: services.ServiceChanges,
    medic: MedicDep,
    actor: Actor = Depends(write_access),
) -> JSONResponse:
    service = services.update_service(
        medic.db,
        actor,
        service_id,
        changes,
        medic.settings.medic_timezone,
        medic.settings.alert_auto_unmute_hours,
    )
    return envelope(_out(medic, service), "service updated")


@router.delete(
    "/{service_id}", response_model=Envelope, summary="Delete a service and its history (admin)"
)
def delete_service(
    service_id: int, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    services.delete_service(medic.db, actor, service_id)
    return envelope({"service_id": service_id}, "service deleted")


@router.post(
    "/{service_id}/mute", response_model=Envelope, summary="Silence notifications for a while"
)
def mute_service(
    service_id: int,
    medic: MedicDep,
    body: MuteIn | None = None,
    actor: Actor = Depends(write_access),
) -> JSONResponse:
    body = body or MuteIn()
    try:
        duration = parse_duration(body.duration) if body.duration else None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    service = services.mute(
        medic.db, actor, service_id, duration, body.reason, medic.settings.alert_auto_unmute_hours
    )
    return envelope(_out(medic, service), "service muted")


@router.post("/{service_id}/unmute", response_model=Envelope, summary="Resume notifications")
def unmute_service(
    service_id: int, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    return envelope(_out(medic, services.unmute(medic.db, actor, service_id)), "service unmuted")
