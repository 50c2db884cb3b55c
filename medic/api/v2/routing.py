"""v2 notification routing (SRE-9, SRE-10, SRE-12): notification targets, routing
policies and working-hours schedules, each by name, and a preview of where a
service's alerts would go at a given instant."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from medic.api.auth import get_medic, read_access, write_access
from medic.api.envelope import Envelope, Limit, Offset, envelope, page
from medic.ops import routing_policies, targets, working_hours
from medic.ops.actor import Actor
from medic.ops.errors import InvalidInput
from medic.runtime import Medic

router = APIRouter()
MedicDep = Annotated[Medic, Depends(get_medic)]


def _dump(view: Callable[[Any], Any]) -> Callable[[Any], dict]:
    return lambda row: view(row).model_dump()


# --- notification targets ---------------------------------------------------------

target_out = _dump(targets.TargetView.of)
targets_router = APIRouter(prefix="/notification-targets", tags=["v2 routing"])


@targets_router.get("", response_model=Envelope, summary="List targets (secrets masked)")
def list_targets(
    medic: MedicDep, actor: Actor = Depends(read_access), limit: Limit = 100, offset: Offset = 0
) -> JSONResponse:
    rows, total = targets.list_targets(medic.db, actor, limit, offset)
    return page([target_out(r) for r in rows], total, limit, offset)


@targets_router.post("", status_code=201, response_model=Envelope, summary="Create a target")
def create_target(
    spec: targets.TargetSpec, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    target = targets.create_target(medic.db, actor, spec)
    return envelope(target_out(target), "notification target created", 201)


@targets_router.get("/{name}", response_model=Envelope, summary="One target (secrets masked)")
def get_target(name: str, medic: MedicDep, actor: Actor = Depends(read_access)) -> JSONResponse:
    return envelope(target_out(targets.get_target(medic.db, actor, name)))


@targets_router.patch(
    "/{name}", response_model=Envelope, summary="Change a target's config, kind or enabled"
)
def update_target(
    name: str,
    changes: targets.TargetChanges,
    medic: MedicDep,
    actor: Actor = Depends(write_access),
) -> JSONResponse:
    target = targets.update_target(medic.db, actor, name, changes)
    return envelope(target_out(target), "notification target updated")


@targets_router.delete(
    "/{name}", response_model=Envelope, summary="Delete a target (409 while a policy names it)"
)
def delete_target(name: str, medic: MedicDep, actor: Actor = Depends(write_access)) -> JSONResponse:
    target = targets.delete_target(medic.db, actor, name)
    return envelope({"name": target.name}, "notification target deleted")


# --- routing policies -------------------------------------------------------------

policy_out = _dump(routing_policies.PolicyView.of)
policies_router = APIRouter(prefix="/routing-policies", tags=["v2 routing"])


@policies_router.get("", response_model=Envelope, summary="List routing policies")
def list_policies(
    medic: MedicDep, actor: Actor = Depends(read_access), limit: Limit = 100, offset: Offset = 0
) -> JSONResponse:
    rows, total = routing_policies.list_policies(medic.db, actor, limit, offset)
    return page([policy_out(r) for r in rows], total, limit, offset)


@policies_router.post(
    "", status_code=201, response_model=Envelope, summary="Create a routing policy"
)
def create_policy(
    spec: routing_policies.PolicySpec, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    policy = routing_policies.create_policy(medic.db, actor, spec)
    return envelope(policy_out(policy), "routing policy created", 201)


@policies_router.get("/{name}", response_model=Envelope, summary="One routing policy")
def get_policy(name: str, medic: MedicDep, actor: Actor = Depends(read_access)) -> JSONResponse:
    return envelope(policy_out(routing_policies.get_policy(medic.db, actor, name)))


@policies_router.patch(
    "/{name}", response_model=Envelope, summary="Change a policy's mode or rules"
)
def update_policy(
    name: str,
    changes: routing_policies.PolicyChanges,
    medic: MedicDep,
    actor: Actor = Depends(write_access),
) -> JSONResponse:
    policy = routing_policies.update_policy(medic.db, actor, name, changes)
    return envelope(policy_out(policy), "routing policy updated")


@policies_router.delete(
    "/{name}", response_model=Envelope, summary="Delete a policy (409 while services name it)"
)
def delete_policy(name: str, medic: MedicDep, actor: Actor = Depends(write_access)) -> JSONResponse:
    policy = routing_policies.delete_policy(medic.db, actor, name)
    return envelope({"name": policy.name}, "routing policy deleted")


# --- working hours ----------------------------------------------------------------

hours_out = _dump(working_hours.HoursView.of)
hours_router = APIRouter(prefix="/working-hours", tags=["v2 routing"])


@hours_router.get("", response_model=Envelope, summary="List working-hours schedules")
def list_hours(
    medic: MedicDep, actor: Actor = Depends(read_access), limit: Limit = 100, offset: Offset = 0
) -> JSONResponse:
    rows, total = working_hours.list_hours(medic.db, actor, limit, offset)
    return page([hours_out(r) for r in rows], total, limit, offset)


@hours_router.post(
    "", status_code=201, response_model=Envelope, summary="Create a working-hours schedule"
)
def create_hours(
    spec: working_hours.HoursSpec, medic: MedicDep, actor: Actor = Depends(write_access)
) -> JSONResponse:
    hours = working_hours.create_hours(medic.db, actor, spec)
    return envelope(hours_out(hours), "working hours created", 201)


@hours_router.get("/{name}", response_model=Envelope, summary="One working-hours schedule")
def get_hours(name: str, medic: MedicDep, actor: Actor = Depends(read_access)) -> JSONResponse:
    return envelope(hours_out(working_hours.get_hours(medic.db, actor, name)))


@hours_router.patch("/{name}", response_model=Envelope, summary="Change a schedule")
def update_hours(
    name: str,
    changes: working_hours.HoursChanges,
    medic: MedicDep,
    actor: Actor = Depends(write_access),
) -> JSONResponse:
    hours = working_hours.update_hours(medic.db, actor, name, changes)
    return envelope(hours_out(hours), "working hours updated")


@hours_router.delete(
    "/{name}", response_model=Envelope, summary="Delete a schedule (409 while a policy names it)"
)
def delete_hours(name: str, medic: MedicDep, actor: Actor = Depends(write_access)) -> JSONResponse:
    hours = working_hours.delete_hours(medic.db, actor, name)
    return envelope({"name": hours.name}, "working hours deleted")


# --- preview ----------------------------------------------------------------------


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        # A `+` in a query string decodes to a space: 10:00:00 05:00 meant 10:00:00+05:00.
        parsed = datetime.fromisoformat(
            re.sub(r"(T[\d:.]+) (\d\d:?\d\d)$", r"\1+\2", value.strip())
        )
    except ValueError:
        raise InvalidInput(f"at: {value!r} is not an ISO 8601 time") from None
    if parsed.utcoffset() is None:
        raise InvalidInput("at: needs a UTC offset, e.g. 2027-03-15T10:00:00-04:00 or ...Z")
    return parsed


@router.get(
    "/services/{service_id}/routing",
    response_model=Envelope,
    tags=["v2 routing"],
    summary="Where the service's alerts would go at an instant (default now)",
)
def preview_routing(
    service_id: int,
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    at: str | None = Query(None, description="ISO 8601 with an offset; default now"),
) -> JSONResponse:
    preview = routing_policies.route_preview(medic.db, actor, service_id, _instant(at))
    return envelope(preview.model_dump())


for _sub in (targets_router, policies_router, hours_router):
    router.include_router(_sub)
