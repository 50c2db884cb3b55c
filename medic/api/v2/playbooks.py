"""v2 playbook definitions (SRE-18): apply YAML (idempotent), list, read any version,
enable or disable, delete. Executing playbooks is not here yet."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from medic.api.auth import admin_access, get_medic, read_access
from medic.ops import config_restore, playbooks
from medic.ops.actor import Actor
from medic.ops.errors import InvalidInput
from medic.ops.playbooks import (
    Applied,
    ApplyPlaybook,
    DeletePlaybook,
    DisablePlaybook,
    EnablePlaybook,
    GetPlaybook,
    ListPlaybooks,
    ListPlaybookVersions,
    PlaybookDetail,
    PlaybookView,
    VersionSummary,
)
from medic.ops.validation import validated
from medic.process import MedicProcess
from medic.web.envelope import Envelope, Limit, Offset, Page, envelope, page
from medic.web.params import row_id

router = APIRouter(prefix="/playbooks", tags=["v2 playbooks"])
VersionNumber = row_id("playbook version")
MedicDep = Annotated[MedicProcess, Depends(get_medic)]
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
        except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
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
    response_model=Envelope[Applied],
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
    request: Request,
    medic: MedicDep,
    actor: Actor = Depends(admin_access),
    strict: bool = Query(
        False,
        description="refuse (400) a playbook whose steps use a secret not set or a script "
        "not registered; otherwise it is applied and `warnings` name each, with its line",
    ),
) -> JSONResponse:
    command = ApplyPlaybook.of(source_yaml=await _yaml_text(request), strict=strict)
    applied = await run_in_threadpool(playbooks.apply_playbook, medic.context(actor), command)
    name, number = applied.name, applied.version
    warned = f"; {len(applied.warnings)} warning(s)" if applied.warnings else ""
    if applied.created:
        return envelope(applied, f"playbook {name} created (version {number}){warned}", 201)
    if applied.changed:
        return envelope(applied, f"playbook {name} updated to version {number}{warned}")
    return envelope(applied, f"playbook {name} unchanged (version {number}){warned}")


@router.get("", response_model=Envelope[Page[PlaybookView]], summary="List playbooks (paged)")
def list_playbooks(
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    archived: bool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    """`archived=true` lists the deleted playbooks, each under its archived name."""
    query = ListPlaybooks.of(archived=archived, limit=limit, offset=offset)
    rows, total = playbooks.list_playbooks(medic.context(actor), query)
    return page(rows, total, limit, offset)


@router.get(
    "/{name}",
    response_model=Envelope[PlaybookDetail],
    summary="A playbook: current version, YAML and definition",
)
def get_playbook(name: str, medic: MedicDep, actor: Actor = Depends(read_access)) -> JSONResponse:
    return envelope(playbooks.get_playbook(medic.context(actor), GetPlaybook.of(name=name)))


@router.get(
    "/{name}/versions",
    response_model=Envelope[Page[VersionSummary]],
    summary="A playbook's versions",
)
def list_versions(
    name: str,
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    query = ListPlaybookVersions.of(name=name, limit=limit, offset=offset)
    rows, total = playbooks.list_versions(medic.context(actor), query)
    return page(rows, total, limit, offset)


@router.get(
    "/{name}/versions/{version}",
    response_model=Envelope[PlaybookDetail],
    summary="One version of a playbook: its YAML and definition",
)
def get_version(
    name: str, version: VersionNumber, medic: MedicDep, actor: Actor = Depends(read_access)
) -> JSONResponse:
    query = GetPlaybook.of(name=name, version=version)
    return envelope(playbooks.get_playbook(medic.context(actor), query))


@router.post(
    "/{name}/versions/{version}/restore",
    response_model=Envelope[Applied],
    summary="Make an old version current again (applied as a new version)",
)
def restore_version(
    name: str, version: VersionNumber, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    applied = config_restore.restore_playbook_version(medic.context(actor), name, version)
    if not applied.changed:
        return envelope(
            applied, f"playbook {name} unchanged: version {version} has the current content"
        )
    return envelope(applied, f"playbook {name} version {version} restored as {applied.version}")


@router.patch(
    "/{name}", response_model=Envelope[PlaybookView], summary="Enable or disable a playbook"
)
def update_playbook(
    name: str,
    changes: playbooks.PlaybookChanges,
    medic: MedicDep,
    actor: Actor = Depends(admin_access),
) -> JSONResponse:
    context = medic.context(actor)
    if changes.enabled:
        view = playbooks.enable(context, EnablePlaybook.of(name=name))
    else:
        view = playbooks.disable(context, DisablePlaybook.of(name=name))
    return envelope(view, f"playbook {'enabled' if view.enabled else 'disabled'}")


@router.delete(
    "/{name}",
    response_model=Envelope[dict[str, str]],
    summary="Delete a playbook: archived, its versions and executions kept",
)
def delete_playbook(
    name: str, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    deleted = playbooks.delete_playbook(medic.context(actor), DeletePlaybook.of(name=name))
    return envelope({"name": deleted.name}, "playbook deleted")
