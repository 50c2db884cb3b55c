"""Ping URLs (healthchecks.io style) for cron jobs and shell scripts.

`curl -fsS https://medic/ping/<uuid>` needs no key: the unguessable uuid is the
credential. `/start`, `/fail` and `/{exit_status}` report job runs; `?rid=`
correlates a start with its end; the request body (first 100 kB) is kept as the
event's message.

Slug ping URLs, `/ping/<ping key>/<slug>` (and `/start`, `/fail`, `/{exit_status}`),
name a service by its slug within the ping key's team (medic.ops.ping_keys);
`?create=1` creates it on its first ping. A ping key never reads as a uuid, so
`/ping/<x>/<y>` is a uuid ping when x is a uuid and a slug ping otherwise.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from medic.api.auth import get_medic
from medic.core.slugs import check_slug, is_slug
from medic.core.statuses import Status, exit_status_to_status
from medic.ingest.writer import ServiceRef
from medic.ops import heartbeats, ping_keys
from medic.ops.errors import InvalidInput, NotFound
from medic.ops.heartbeats import MAX_MESSAGE_BYTES
from medic.process import MedicProcess
from medic.ratelimit import HEARTBEATS
from medic.web.identity import enforce_rate_limit

router = APIRouter(tags=["ping"])
UuidPath = Annotated[str, Path(description="the service's ping uuid")]
RunId = Annotated[str | None, Query(alias="rid", max_length=255, description="run id")]
KeyPath = Annotated[str, Path(description="the team's ping key")]
SlugPath = Annotated[str, Path(description="the service's slug in that team")]
Create = Annotated[
    int, Query(ge=0, le=1, description="1: create the service (with defaults) if it is new")
]
EXIT_STATUS = re.compile(r"[0-9]{1,3}")
MAX_KEY_LENGTH = 128
UNKNOWN = "no service has this ping URL"


def _parse_uuid(value: str) -> str:
    try:
        return str(uuid_module.UUID(value))
    except ValueError:
        raise NotFound(UNKNOWN) from None


def _is_uuid(value: str) -> bool:
    try:
        uuid_module.UUID(value)
    except ValueError:
        return False
    return True


def _exit_status(value: str) -> Status:
    # ASCII digits only: str.isdigit() also takes superscripts and Arabic-Indic digits,
    # which int() then refuses or reads; at most three, so int() never parses thousands.
    if not EXIT_STATUS.fullmatch(value) or int(value) > 255:
        raise InvalidInput("exit status must be an integer from 0 to 255")
    return exit_status_to_status(int(value))


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
    create: Create = 0,
    medic: MedicProcess = Depends(get_medic),
) -> PlainTextResponse:
    """`/ping/<uuid>/<exit status>`, or a slug ping `/ping/<ping key>/<slug>`."""
    if not _is_uuid(uuid):
        # A malformed uuid URL stays a 404; a slug URL asking to create explains its slug.
        if not create and not is_slug(exit_status):
            raise NotFound(UNKNOWN)
        return await _slug_ping(request, medic, uuid, exit_status, Status.UP, rid, create)
    return await _ping(request, medic, uuid, _exit_status(exit_status), rid)


async def _slug_ping(
    request: Request,
    medic: MedicProcess,
    key: str,
    slug: str,
    status: Status,
    run_id: str | None,
    create: int,
) -> PlainTextResponse:
    try:
        check_slug(slug)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if len(key) > MAX_KEY_LENGTH:
        raise NotFound(UNKNOWN)
    hashed = ping_keys.key_hash(key)
    await enforce_rate_limit(request, medic, HEARTBEATS, f"ping:{hashed}:{slug}", None)
    message = await _read_capped_body(request)
    team, service_uuid = await run_in_threadpool(ping_keys.resolve, medic.db, key, slug)
    if team is None:
        raise NotFound(UNKNOWN)
    created = False
    if service_uuid is None:
        if not create:
            raise NotFound(f"{UNKNOWN} (add ?create=1 to create it)")
        # Creating is ingest too, and counted per key: varying the slug creates no more.
        await enforce_rate_limit(request, medic, HEARTBEATS, f"ping-create:{hashed}", None)
        service_uuid = await run_in_threadpool(ping_keys.create_by_slug, medic.db, team, slug)
        created = True
    await heartbeats.record(
        medic.writer, None, ServiceRef(uuid=service_uuid), status, run_id=run_id, message=message
    )
    return PlainTextResponse("Created" if created else "OK", status_code=201 if created else 200)


async def slug_ping_start(
    request: Request,
    key: KeyPath,
    slug: SlugPath,
    rid: RunId = None,
    create: Create = 0,
    medic: MedicProcess = Depends(get_medic),
) -> PlainTextResponse:
    return await _slug_ping(request, medic, key, slug, Status.STARTED, rid, create)


async def slug_ping_fail(
    request: Request,
    key: KeyPath,
    slug: SlugPath,
    rid: RunId = None,
    create: Create = 0,
    medic: MedicProcess = Depends(get_medic),
) -> PlainTextResponse:
    return await _slug_ping(request, medic, key, slug, Status.FAILED, rid, create)


async def slug_ping_exit_status(
    request: Request,
    key: KeyPath,
    slug: SlugPath,
    exit_status: str,
    rid: RunId = None,
    create: Create = 0,
    medic: MedicProcess = Depends(get_medic),
) -> PlainTextResponse:
    status = _exit_status(exit_status)
    return await _slug_ping(request, medic, key, slug, status, rid, create)


for _path, _endpoint, _summary in (
    ("/ping/{uuid}", ping, "Success ping"),
    ("/ping/{uuid}/start", ping_start, "A job run started"),
    ("/ping/{uuid}/fail", ping_fail, "A job run failed"),
    (
        "/ping/{uuid}/{exit_status}",
        ping_exit_status,
        "A job run ended with this exit status (0 = success); or /ping/<ping key>/<slug>",
    ),
    ("/ping/{key}/{slug}/start", slug_ping_start, "A job run started (slug URL)"),
    ("/ping/{key}/{slug}/fail", slug_ping_fail, "A job run failed (slug URL)"),
    (
        "/ping/{key}/{slug}/{exit_status}",
        slug_ping_exit_status,
        "A job run ended with this exit status (slug URL; 0 = success)",
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
