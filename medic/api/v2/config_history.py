"""v2 configuration history: every change to a service, team, routing policy, target or
maintenance window, and restoring an object to how it was before one of them.

`/v2/snapshots` is the original Medic's name for the same history, kept for its
scripts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from medic.api.auth import get_medic, read_access, write_access
from medic.ops import config_history, config_restore
from medic.ops.actor import Actor
from medic.ops.config_history import Action, ConfigChangeView, GetChange, Kind, ListChanges
from medic.ops.config_restore import Restored
from medic.process import MedicProcess
from medic.web.envelope import Envelope, Limit, Offset, Page, envelope, page
from medic.web.params import row_id

router = APIRouter(tags=["v2 config history"])
MedicDep = Annotated[MedicProcess, Depends(get_medic)]
ChangeId = row_id("configuration change")
PATHS = ("/config-history", "/snapshots")


def list_changes(
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    kind: Kind | None = None,
    key: str | None = Query(None, description="a service's or window's id, else a name"),
    action: Action | None = None,
    actor_name: str | None = Query(None, alias="actor"),
    since: AwareDatetime | None = Query(None, description="ISO 8601 with offset"),
    until: AwareDatetime | None = Query(None, description="ISO 8601 with offset, exclusive"),
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    query = ListChanges.of(
        kind=kind,
        key=key,
        action=action,
        actor_name=actor_name,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    rows, total = config_history.list_changes(medic.context(actor), query)
    return page(rows, total, limit, offset)


def get_change(
    change_id: ChangeId, medic: MedicDep, actor: Actor = Depends(read_access)
) -> JSONResponse:
    change = config_history.get_change(medic.context(actor), GetChange.of(change_id=change_id))
    return envelope(change)


def restore_change(
    change_id: ChangeId, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    restored = config_restore.restore_change(medic.context(actor), change_id)
    message = (
        f"{restored.kind} {restored.key} restored to its state before change {change_id}"
        f" (recorded as change {restored.change.change_id})"
    )
    return envelope(restored, message)


for path in PATHS:
    legacy = path == "/snapshots"
    router.add_api_route(
        path,
        list_changes,
        methods=["GET"],
        response_model=Envelope[Page[ConfigChangeView]],
        summary="Configuration changes, newest first (paged)",
        include_in_schema=not legacy,
    )
    router.add_api_route(
        path + "/{change_id}",
        get_change,
        methods=["GET"],
        response_model=Envelope[ConfigChangeView],
        summary="One configuration change: the object before and after",
        include_in_schema=not legacy,
    )
    router.add_api_route(
        path + "/{change_id}/restore",
        restore_change,
        methods=["POST"],
        response_model=Envelope[Restored],
        summary="Restore the object to how it was before this change (recorded as a change)",
        include_in_schema=not legacy,
    )
