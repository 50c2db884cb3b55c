"""Ping URLs (healthchecks.io style) for cron jobs and shell scripts.

`curl -fsS https://medic/ping/<uuid>` needs no key: the unguessable uuid is the
credential. `/start`, `/fail` and `/{exit_status}` report job runs; `?rid=`
correlates a start with its end; the request body (first 100 kB) is kept as the
event's message.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse

from medic.api.auth import get_medic
from medic.core.statuses import Status, exit_status_to_status
from medic.ingest.writer import ServiceRef
from medic.ops import heartbeats
from medic.ops.errors import InvalidInput, NotFound
from medic.ops.heartbeats import MAX_MESSAGE_BYTES
from medic.process import MedicProcess
from medic.ratelimit import HEARTBEATS
from medic.web.identity import enforce_rate_limit

router = APIRouter(tags=["ping"])
UuidPath = Annotated[str, Path(description="the service's ping uuid")]
RunId = Annotated[str | None, Query(alias="rid", max_length=255, description="run id")]
EXIT_STATUS = re.compile(r"[0-9]{1,3}")


def _parse_uuid(value: str) -> str:
    try:
        return str(uuid_module.UUID(value))
    except ValueError:
        raise NotFound("no service has this ping URL") from None


async def _read_capped_body(request: Request) -> str | None:
    """Read the body but keep only its first 100 kB (the rest is drained and dropped)."""
    kept = bytearray()
    async for chunk in request.stream():
        if len(kept) < MAX_MESSAGE_BYTES:
            kept += chunk[: MAX_MESSAGE_BYTES - len(kept)]
    return kept.decode("utf-8", errors="replace") if kept else None


async def _ping(
    request: Request, medic: MedicProcess, uuid: str, status: Status, run_id: str | None
) -> PlainTextResponse:
    service_uuid = _parse_uuid(uuid)
    await enforce_rate_limit(request, medic, HEARTBEATS, f"ping:{service_uuid}", None)
    message = await _read_capped_body(request)
    await heartbeats.record(
        medic.writer, None, ServiceRef(uuid=service_uuid), status, run_id=run_id, message=message
    )
    return PlainTextResponse("OK")


async def ping(
    request: Request, uuid: UuidPath, rid: RunId = None, medic: MedicProcess = Depends(get_medic)
) -> PlainTextResponse:
    return await _ping(request, medic, uuid, Status.UP, rid)


async def ping_start(
    request: Request, uuid: UuidPath, rid: RunId = None, medic: MedicProcess = Depends(get_medic)
) -> PlainTextResponse:
    return await _ping(request, medic, uuid, Status.STARTED, rid)


async def ping_fail(
    request: Request, uuid: UuidPath, rid: RunId = None, medic: MedicProcess = Depends(get_medic)
) -> PlainTextResponse:
    return await _ping(request, medic, uuid, Status.FAILED, rid)


async def ping_exit_status(
    request: Request,
    uuid: UuidPath,
    exit_status: str,
    rid: RunId = None,
    medic: MedicProcess = Depends(get_medic),
) -> PlainTextResponse:
    # ASCII digits only: str.isdigit() also takes superscripts and Arabic-Indic digits,
    # which int() then refuses or reads; at most three, so int() never parses thousands.
    if not EXIT_STATUS.fullmatch(exit_status) or int(exit_status) > 255:
        raise InvalidInput("exit status must be an integer from 0 to 255")
    return await _ping(request, medic, uuid, exit_status_to_status(int(exit_status)), rid)


for _path, _endpoint, _summary in (
    ("/ping/{uuid}", ping, "Success ping"),
    ("/ping/{uuid}/start", ping_start, "A job run started"),
    ("/ping/{uuid}/fail", ping_fail, "A job run failed"),
    (
        "/ping/{uuid}/{exit_status}",
        ping_exit_status,
        "A job run ended with this exit status (0 = success)",
    ),
):
    # One route per method: FastAPI would give a multi-method route one shared operation id.
    for _method in ("GET", "HEAD", "POST"):
        router.add_api_route(
            _path,
            _endpoint,
            methods=[_method],
            summary=_summary,
            response_class=PlainTextResponse,
            name=f"{_endpoint.__name__}_{_method.lower()}",
        )
