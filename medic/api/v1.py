"""The original Medic's API, route for route, served at `/…` and `/v1/…`.

Field names, success statuses and the envelope are the original's; its error
handling is fixed (unknown name → 404, bad body → 400 naming the field).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from medic.api.auth import authenticated, get_medic, read_access, write_access
from medic.ingest.writer import ServiceRef
from medic.ops import alerts, heartbeats, services
from medic.ops.actor import Actor
from medic.ops.alerts import AlertView, ListAlerts
from medic.ops.errors import InvalidInput
from medic.ops.heartbeats import ListHeartbeats
from medic.ops.service_commands import (
    GetService,
    ListServices,
    RegisterService,
    ServiceChanges,
)
from medic.ops.service_view import ServiceView
from medic.ops.validation import validated
from medic.process import MedicProcess
from medic.ratelimit import HEARTBEATS
from medic.web.envelope import Envelope, envelope

router = APIRouter(tags=["v1"])
v1_heartbeat_access = authenticated("ingest", HEARTBEATS, anonymous_v1=True)
Flag = Literal[0, 1] | bool
# Query strings are text: Literal[0, 1] would refuse the "0" and "1" every client sends.
QueryFlag = Literal["0", "1"]
MedicDep = Annotated[MedicProcess, Depends(get_medic)]


class V1Heartbeat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    heartbeat_name: str = Field(min_length=1, max_length=255)
    service_name: str | None = Field(default=None, max_length=255)
    status: str = Field(
        max_length=32, description="UP, DOWN, DEGRADED, STARTED, COMPLETED or FAILED"
    )
    run_id: str | None = Field(default=None, max_length=255)


class V1Service(BaseModel):
    model_config = ConfigDict(extra="forbid")
    heartbeat_name: str = Field(max_length=255)
    service_name: str = Field(max_length=255)
    alert_interval: int = Field(description="minutes; at least 1")
    environment: str | None = Field(default=None, max_length=64)
    threshold: int = 1
    team: str = Field(default="site-reliability", max_length=255)
    priority: str = "p3"
    runbook: str | None = Field(default=None, max_length=2048)


class V1ServiceUpdate(BaseModel):
    """`muted: 1` mutes with the default duration (ALERT_AUTO_UNMUTE_HOURS), `0` unmutes.
    `down` follows the service's state; sending it is refused."""

    model_config = ConfigDict(extra="forbid")
    service_name: str | None = Field(default=None, max_length=255)
    muted: Flag | None = None
    active: Flag | None = None
    alert_interval: int | None = None
    threshold: int | None = None
    team: str | None = Field(default=None, max_length=255)
    priority: str | None = None
    runbook: str | None = Field(default=None, max_length=2048)
    down: Flag | None = Field(default=None, description="refused: follows the state")


class V1ServiceOut(BaseModel):
    """A registered heartbeat as the original Medic showed it (flags are 0/1)."""

    service_id: int
    heartbeat_name: str
    service_name: str | None
    active: int
    alert_interval: int
    team: str
    priority: str
    muted: int
    down: int
    threshold: int
    runbook: str | None
    date_added: datetime
    date_modified: datetime
    date_muted: datetime | None


class V1HeartbeatOut(BaseModel):
    heartbeat_id: int
    heartbeat_name: str
    service_name: str | None
    time: datetime
    status: str
    team: str | None
    priority: str | None
    run_id: str | None


class V1AlertOut(BaseModel):
    alert_id: int
    alert_name: str | None
    service_id: int
    active: int
    external_reference_id: str | None
    alert_cycle: int
    created_date: datetime
    closed_date: datetime | None


def v1_service(service: ServiceView) -> dict[str, Any]:
    return {
        "service_id": service.service_id,
        "heartbeat_name": service.heartbeat_name,
        "service_name": service.service_name,
        "active": int(service.active),
        "alert_interval": service.alert_interval,
        "team": service.team,
        "priority": service.priority,
        "muted": int(service.muted),
        "down": int(service.down),
        "threshold": service.threshold,
        "runbook": service.runbook,
        "date_added": service.date_added,
        "date_modified": service.date_modified,
        "date_muted": service.date_muted,
    }


def v1_alert(alert: AlertView) -> dict[str, Any]:
    return {
        "alert_id": alert.alert_id,
        "alert_name": alert.alert_name,
        "service_id": alert.service_id,
        "active": int(alert.active),
        "external_reference_id": alert.external_reference_id,
        "alert_cycle": alert.alert_cycle,
        "created_date": alert.created_date,
        "closed_date": alert.closed_date,
    }


@router.post(
    "/heartbeat",
    status_code=201,
    response_model=Envelope[str],
    summary="Post a heartbeat (201 = committed)",
)
async def post_heartbeat(
    body: V1Heartbeat, medic: MedicDep, actor: Actor = Depends(v1_heartbeat_access)
) -> JSONResponse:
    await heartbeats.record(
        medic.writer,
        actor,
        ServiceRef(name_key=body.heartbeat_name.strip().casefold()),
        heartbeats.status_from(body.status),
        run_id=body.run_id,
    )
    return envelope("", "Heartbeat Posted Successfully.", 201)


@router.get(
    "/heartbeat",
    response_model=Envelope[list[V1HeartbeatOut]],
    summary="List heartbeats, newest first",
)
def get_heartbeats(
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    heartbeat_name: str | None = None,
    service_name: str | None = None,
    max_count: int = Query(250, alias="maxCount", ge=1, description="at most 250"),
) -> JSONResponse:
    query = ListHeartbeats.of(
        heartbeat_name=heartbeat_name, service_name=service_name, limit=min(max_count, 250)
    )
    rows, _ = heartbeats.list_heartbeats(medic.context(actor), query)
    results = [
        {
            "heartbeat_id": r.heartbeat_id,
            "heartbeat_name": r.heartbeat_name,
            "service_name": r.service_name,
            "time": r.time,
            "status": r.status,
            "team": r.team,
            "priority": r.priority,
            "run_id": r.run_id,
        }
        for r in rows
    ]
    return envelope(results)


@router.post(
    "/service",
    status_code=201,
    response_model=Envelope[list[V1ServiceOut]],
    summary="Register a heartbeat (201 new, 200 already registered)",
)
def post_service(
    body: V1Service, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    command = RegisterService.of(**body.model_dump(exclude_none=True))
    service, created = services.register(medic.context(actor), command)
    if created:
        return envelope([v1_service(service)], "Heartbeat successfully registered.", 201)
    return envelope([v1_service(service)], "Heartbeat is already registered.", 200)


@router.get(
    "/service", response_model=Envelope[list[V1ServiceOut]], summary="List registered heartbeats"
)
def get_services(
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    service_name: str | None = None,
    active: QueryFlag | None = None,
) -> JSONResponse:
    query = ListServices.of(
        service_name=service_name, active=None if active is None else active == "1"
    )
    rows, _ = services.list_services(medic.context(actor), query)
    return envelope([v1_service(s) for s in rows])


@router.get(
    "/service/{heartbeat_name}",
    response_model=Envelope[list[V1ServiceOut]],
    summary="One registered heartbeat (as a list)",
)
def get_service(
    heartbeat_name: str, medic: MedicDep, actor: Actor = Depends(read_access)
) -> JSONResponse:
    service = services.get_service(medic.context(actor), GetService.of(service=heartbeat_name))
    return envelope([v1_service(service)])


@router.post(
    "/service/{heartbeat_name}",
    response_model=Envelope[list[V1ServiceOut]],
    summary="Partially update a registered heartbeat",
)
def update_service(
    heartbeat_name: str,
    body: V1ServiceUpdate,
    medic: MedicDep,
    actor: Actor = Depends(write_access),
) -> JSONResponse:
    values = body.model_dump(exclude_unset=True)
    if "down" in values:
        raise InvalidInput("down follows the service's state (detection sets it); it cannot be set")
    for flag in ("muted", "active"):
        if flag in values and values[flag] is not None:
            values[flag] = bool(values[flag])
    changes = validated(ServiceChanges, values)
    service = services.apply_changes(medic.context(actor), heartbeat_name, changes)
    return envelope([v1_service(service)], "Heartbeat successfully updated.")


@router.get(
    "/alerts", response_model=Envelope[list[V1AlertOut]], summary="List alerts, newest first"
)
def get_alerts(
    medic: MedicDep, actor: Actor = Depends(read_access), active: QueryFlag | None = None
) -> JSONResponse:
    query = ListAlerts.of(active=None if active is None else active == "1")
    rows, _ = alerts.list_alerts(medic.context(actor), query)
    return envelope([v1_alert(a) for a in rows])


@router.get("/healthcheck/network", status_code=204, summary="Network reachability (204)")
def network_healthcheck() -> Response:
    return Response(status_code=204)
