"""v2 heartbeats: post one (by name, id or uuid), query with paging, and the original
v2 job-run routes `/v2/heartbeat/{service_id}/start|complete|fail`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from medic.api.auth import get_medic, heartbeat_access, read_access
from medic.api.v2.schemas import HeartbeatOut
from medic.core.names import name_key
from medic.core.statuses import Status
from medic.ingest.writer import BeatRecorded, ServiceRef
from medic.ops import heartbeats
from medic.ops.actor import Actor
from medic.ops.heartbeats import ListHeartbeats
from medic.process import MedicProcess
from medic.web.envelope import Envelope, Limit, Offset, Page, envelope, page

router = APIRouter(tags=["v2 heartbeats"])
MedicDep = Annotated[MedicProcess, Depends(get_medic)]


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    heartbeat_name: str | None = Field(default=None, max_length=255)
    service_id: int | None = None
    status: str = Field(default="UP", max_length=32)
    run_id: str | None = Field(default=None, max_length=255)
    message: str | None = Field(default=None, description="kept up to 100 kB")

    @model_validator(mode="after")
    def _one_service(self) -> HeartbeatIn:
        if (self.heartbeat_name is None) == (self.service_id is None):
            raise ValueError("give exactly one of heartbeat_name and service_id")
        return self


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: str | None = Field(default=None, max_length=255)
    message: str | None = None


def _out(beat: BeatRecorded) -> dict:
    return HeartbeatOut(
        heartbeat_id=beat.heartbeat_id,
        service_id=beat.service_id,
        heartbeat_name=beat.heartbeat_name,
        time=beat.time,
        status=beat.status.value,
        run_id=beat.run_id,
    ).model_dump()


@router.post(
    "/heartbeats",
    status_code=201,
    response_model=Envelope[HeartbeatOut],
    summary="Post a heartbeat (201 = committed)",
)
async def post_heartbeat(
    body: HeartbeatIn, medic: MedicDep, actor: Actor = Depends(heartbeat_access)
) -> JSONResponse:
    status = heartbeats.status_from(body.status)
    ref = (
        ServiceRef(service_id=body.service_id)
        if body.service_id is not None
        else ServiceRef(name_key=name_key(body.heartbeat_name or ""))
    )
    beat = await heartbeats.record(medic.writer, actor, ref, status, body.run_id, body.message)
    return envelope(_out(beat), "heartbeat recorded", 201)


async def _run_signal(
    medic: MedicProcess, actor: Actor, service_id: int, status: Status, body: RunIn | None
) -> JSONResponse:
    body = body or RunIn()
    beat = await heartbeats.record(
        medic.writer, actor, ServiceRef(service_id=service_id), status, body.run_id, body.message
    )
    return envelope(_out(beat), f"{status.value.lower()} recorded", 201)


@router.post(
    "/heartbeat/{service_id}/start",
    status_code=201,
    response_model=Envelope[HeartbeatOut],
    summary="A job run started",
)
async def run_start(
    service_id: int,
    medic: MedicDep,
    body: Annotated[RunIn | None, Body()] = None,
    actor: Actor = Depends(heartbeat_access),
) -> JSONResponse:
    return await _run_signal(medic, actor, service_id, Status.STARTED, body)


@router.post(
    "/heartbeat/{service_id}/complete",
    status_code=201,
    response_model=Envelope[HeartbeatOut],
    summary="A job run completed",
)
async def run_complete(
    service_id: int,
    medic: MedicDep,
    body: Annotated[RunIn | None, Body()] = None,
    actor: Actor = Depends(heartbeat_access),
) -> JSONResponse:
    return await _run_signal(medic, actor, service_id, Status.COMPLETED, body)


@router.post(
    "/heartbeat/{service_id}/fail",
    status_code=201,
    response_model=Envelope[HeartbeatOut],
    summary="A job run failed",
)
async def run_fail(
    service_id: int,
    medic: MedicDep,
    body: Annotated[RunIn | None, Body()] = None,
    actor: Actor = Depends(heartbeat_access),
) -> JSONResponse:
    return await _run_signal(medic, actor, service_id, Status.FAILED, body)


@router.get(
    "/heartbeats",
    response_model=Envelope[Page[HeartbeatOut]],
    summary="Query heartbeats, newest first (paged)",
)
def list_heartbeats(
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    heartbeat_name: str | None = None,
    service_id: int | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    query = ListHeartbeats.of(
        heartbeat_name=heartbeat_name,
        service_id=service_id,
        status=status or None,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    rows, total = heartbeats.list_heartbeats(medic.context(actor), query)
    items = [HeartbeatOut.model_validate(row.model_dump()) for row in rows]
    return page(items, total, limit, offset)
