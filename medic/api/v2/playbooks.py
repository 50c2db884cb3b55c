"""v2 playbook definitions (SRE-18): apply YAML (idempotent), list, read any version,
enable or disable, delete. Executing playbooks is not here yet."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from medic.api.auth import get_medic, read_access, write_access
from medic.api.envelope import Envelope, Limit, Offset, envelope, page
from medic.api.errors import validated
from medic.ops import playbooks
from medic.ops.actor import Actor
from medic.ops.errors import InvalidInput
from medic.runtime import Medic

router = APIRouter(prefix="/playbooks", tags=["v2 playbooks"])
MedicDep = Annotated[Medic, Depends(get_medic)]
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


class ApplyBody(BaseModel):
    """The JSON form of an apply: the playbook's YAML as one string."""

    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(description="the playbook definition, YAML text")


async def _yaml_text(request: Request) -> str:
    """The YAML from a raw YAML body or from a JSON body `{"yaml": "..."}`."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if media_type == "application/json":
        try:
            data: Any = json.loads(raw)
        except ValueError:
            raise InvalidInput("the request body must be a JSON object") from None
        if not isinstance(data, dict):
            raise InvalidInput("the request body must be a JSON object")
        return validated(ApplyBody, data).yaml
    if media_type not in YAML_TYPES:
        raise HTTPException(
            415,
            "send the playbook as YAML (Content-Type: application/yaml) "
            'or as JSON {"yaml": "..."} (Content-Type: application/json)',
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the playbook must be UTF-8 text") from None


@router.post(
    "",
    response_model=Envelope,
    summary="Apply a playbook's YAML: 201 created, 200 new version or unchanged",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": ApplyBody.model_json_schema()},
            },
        }
    },
)
async def apply_playbook(
    request: Request, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    text = await _yaml_text(request)
    applied = await run_in_threadpool(playbooks.apply_playbook, medic.db, actor, text)
    view = playbooks.PlaybookView.of(applied.playbook, applied.version)
    result = {
        **view.model_dump(),
        "version": applied.version.version,
        "created": applied.created,
        "changed": applied.changed,
    }
    name, number = applied.playbook.name, applied.version.version
    if applied.created:
        return envelope(result, f"playbook {name} created (version {number})", 201)
    if applied.changed:
        return envelope(result, f"playbook {name} updated to version {number}")
    return envelope(result, f"playbook {name} unchanged (version {number})")


@router.get("", response_model=Envelope, summary="List playbooks (paged)")
def list_playbooks(
    medic: MedicDep, actor: Actor = Depends(read_access), limit: Limit = 100, offset: Offset = 0
) -> JSONResponse:
    rows, total = playbooks.list_playbooks(medic.db, actor, limit, offset)
    items = [playbooks.PlaybookView.of(p, v).model_dump() for p, v in rows]
    return page(items, total, limit, offset)


@router.get(
    "/{name}", response_model=Envelope, summary="A playbook: current version, YAML and definition"
)
def get_playbook(name: str, medic: MedicDep, actor: Actor = Depends(read_access)) -> JSONResponse:
    return envelope(playbooks.get_playbook(medic.db, actor, name).model_dump())


@router.get("/{name}/versions", response_model=Envelope, summary="A playbook's versions")
def list_versions(
    name: str,
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    rows, total = playbooks.list_versions(medic.db, actor, name, limit, offset)
    return page([row.model_dump() for row in rows], total, limit, offset)


@router.get(
    "/{name}/versions/{version}",
    response_model=Envelope,
    summary="One version of a playbook: its YAML and definition",
)
def get_version(
    name: str, version: int, medic: MedicDep, actor: Actor = Depends(read_access)
) -> JSONResponse:
    return envelope(playbooks.get_playbook(medic.db, actor, name, version).model_dump())


@router.patch("/{name}", response_model=Envelope, summary="Enable or disable a playbook")
def update_playbook(
    name: str,
    changes: playbooks.PlaybookChanges,
    medic: MedicDep,
    actor: Actor = Depends(write_access),
) -> JSONResponse:
    view = playbooks.set_enabled(medic.db, actor, name, changes.enabled)
    return envelope(view.model_dump(), f"playbook {'enabled' if view.enabled else 'disabled'}")


@router.delete("/{name}", response_model=Envelope, summary="Delete a playbook and its versions")
def delete_playbook(
    name: str, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    playbook = playbooks.delete_playbook(medic.db, actor, name)
    return envelope({"name": playbook.name}, "playbook deleted")
