"""v2 heartbeats: post one (by name, id or uuid), query with paging, and the original
v2 job-run routes `/v2/heartbeat/{service_id}/start|complete|fail`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from medic.api.auth import get_medic, heartbeat_access, read_access
from medic.api.v2.schemas import HeartbeatOut
from medic.core.names import name_key
from medic.core.statuses import Status
from medic.ingest.writer import BeatRecorded, ServiceRef
from medic.ops import heartbeats, provisioning
from medic.ops.actor import Actor
from medic.ops.heartbeats import ListHeartbeats
from medic.ops.provisioning import MonitorConfig
from medic.process import MedicProcess
from medic.web.envelope import Envelope, Limit, Offset, Page, page
from medic.web.params import IdFilter

router = APIRouter(tags=["v2 heartbeats"])
MedicDep = Annotated[MedicProcess, Depends(get_medic)]


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    heartbeat_name: str | None = Field(default=None, max_length=255)
    service_id: int | None = None
    status: str = Field(default="UP", max_length=32)
    run_id: str | None = Field(default=None, max_length=255)
    message: str | None = Field(default=None, description="kept up to 100 kB")
    monitor: MonitorConfig | None = Field(
        default=None,
        description="the service's config: with a `write` key the service is created or "
        "updated to match before the heartbeat is recorded; ignored (and said so) otherwise",
    )

    @model_validator(mode="after")
    def _one_service(self) -> HeartbeatIn:
        if (self.heartbeat_name is None) == (self.service_id is None):
            raise ValueError("give exactly one of heartbeat_name and service_id")
        return self


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: str | None = Field(default=None, max_length=255)
    message: str | None = None
    monitor: MonitorConfig | None = Field(
        default=None, description="with a `write` key the service is updated to match"
    )


class RunOut(BaseModel):
    """What an end (COMPLETED or FAILED) with a `run_id` did to its run."""

    id: str
    known: bool = Field(
        description="a STARTED with this run_id was seen; false: the end is stored as a plain"
        " heartbeat (still proof of life when COMPLETED), without a duration"
    )
    repeated: bool = Field(
        description="the run had already ended this way (a retry): nothing new was stored,"
        " and the heartbeat shown is the one that ended it"
    )


class BeatOut(HeartbeatOut):
    run: RunOut | None = Field(default=None, description="ends with a run_id only")


def _out(beat: BeatRecorded) -> dict:
    """BeatOut's fields in its order, JSON-ready (the time as `jsonable_encoder` writes
    it), built directly: this answers every heartbeat, and a model instance, its dump and
    `jsonable_encoder` walking it cost more than the rest of the answer."""
    run = beat.run
    return {
        "heartbeat_id": beat.heartbeat_id,
        "service_id": beat.service_id,
        "heartbeat_name": beat.heartbeat_name,
        "service_name": None,
        "time": beat.time.isoformat(),
        "status": beat.status.value,
        "run_id": beat.run_id,
        "message": None,
        "run": None
        if run is None
        else {"id": run.run_id, "known": run.known, "repeated": run.repeated},
    }


def _answer(beat: BeatRecorded, recorded: str) -> Response:
    """201 with `recorded`; an end of a run that was never started (or is no longer kept)
    says so; a repeated end is 200: nothing new was stored."""
    run, status = beat.run, beat.status.value.lower()
    if run is not None and run.repeated:
        message = f"run {run.run_id!r} had already {status}: nothing new recorded"
        return _envelope(beat, message, 200)
    if run is not None and not run.known:
        recorded = (
            f"{recorded}, as a plain heartbeat: no run {run.run_id!r} was started (or it is"
            " no longer kept), so it has no duration"
        )
    elif run is not None and run.ended_as is not None:
        recorded = (
            f"{recorded}, as a plain heartbeat: run {run.run_id!r} had already {run.ended_as}"
        )
    return _envelope(beat, recorded, 201)


def _envelope(beat: BeatRecorded, message: str, status_code: int) -> Response:
    """`envelope(_out(beat), ...)` without walking an answer that is JSON-ready already.
    It holds only str, int, bool and None, which pydantic-core writes as the json module
    does (compact, UTF-8) in a fifth of the time."""
    body = {"success": True, "message": message, "results": _out(beat)}
    return Response(to_json(body), status_code, media_type="application/json")


# A repeated end of a run (a client's retry) stores nothing new.
REPEATED: dict[int | str, dict[str, Any]] = {
    200: {
        "model": Envelope[BeatOut],
        "description": "the run had already ended this way: nothing new stored",
    }
}


@router.post(
    "/heartbeats",
    status_code=201,
    response_model=Envelope[BeatOut],
    responses=REPEATED,
    summary="Post a heartbeat (201 = committed)",
)
async def post_heartbeat(
    body: HeartbeatIn, medic: MedicDep, actor: Actor = Depends(heartbeat_access)
) -> Response:
    # Documents the route (a docstring would show in /openapi.json). The app serves it
    # with medic.api.v2.heartbeat_route: the same steps without FastAPI's per-request
    # machinery, also ending in record_heartbeat.
    return await record_heartbeat(medic, actor, body)


async def record_heartbeat(medic: MedicProcess, actor: Actor, body: HeartbeatIn) -> Response:
    """POST /v2/heartbeats once the key is checked and the body validated."""
    status = heartbeats.status_from(body.status)
    ref = (
        ServiceRef(service_id=body.service_id)
        if body.service_id is not None
        else ServiceRef(name_key=name_key(body.heartbeat_name or ""))
    )
    recorded = "heartbeat recorded"
    if body.monitor is not None:
        service = body.service_id if body.service_id is not None else body.heartbeat_name
        assert service is not None
        recorded += await _provision(medic, actor, service, body.monitor)
    beat = await heartbeats.record(medic.writer, actor, ref, status, body.run_id, body.message)
    return _answer(beat, recorded)


async def _provision(
    medic: MedicProcess, actor: Actor, service: int | str, config: MonitorConfig
) -> str:
    """Apply a monitor config before its heartbeat (the slow path: only bodies that
    carry one come here); returns the clause the answer adds."""
    actor.require("ingest")
    done = await run_in_threadpool(provisioning.provision, medic.context(actor), service, config)
    return f"; {provisioning.describe(done, str(service))}"


async def _run_signal(
    medic: MedicProcess, actor: Actor, service_id: int, status: Status, body: RunIn | None
) -> Response:
    body = body or RunIn()
    recorded = f"{status.value.lower()} recorded"
    if body.monitor is not None:
        recorded += await _provision(medic, actor, service_id, body.monitor)
    beat = await heartbeats.record(
        medic.writer, actor, ServiceRef(service_id=service_id), status, body.run_id, body.message
    )
    return _answer(beat, recorded)


@router.post(
    "/heartbeat/{service_id}/start",
    status_code=201,
    response_model=Envelope[BeatOut],
    summary="A job run started",
)
async def run_start(
    service_id: int,
    medic: MedicDep,
    body: Annotated[RunIn | None, Body()] = None,
    actor: Actor = Depends(heartbeat_access),
) -> Response:
    return await _run_signal(medic, actor, service_id, Status.STARTED, body)


@router.post(
    "/heartbeat/{service_id}/complete",
    status_code=201,
    response_model=Envelope[BeatOut],
    responses=REPEATED,
    summary="A job run completed",
)
async def run_complete(
    service_id: int,
    medic: MedicDep,
    body: Annotated[RunIn | None, Body()] = None,
    actor: Actor = Depends(heartbeat_access),
) -> Response:
    return await _run_signal(medic, actor, service_id, Status.COMPLETED, body)


@router.post(
    "/heartbeat/{service_id}/fail",
    status_code=201,
    response_model=Envelope[BeatOut],
    responses=REPEATED,
    summary="A job run failed",
)
async def run_fail(
    service_id: int,
    medic: MedicDep,
    body: Annotated[RunIn | None, Body()] = None,
    actor: Actor = Depends(heartbeat_access),
) -> Response:
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
    service_id: IdFilter = None,
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
