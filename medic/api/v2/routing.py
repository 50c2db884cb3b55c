"""v2 notification routing (SRE-9, SRE-10, SRE-12): notification targets, routing
policies and working-hours schedules, each by name, and a preview of where a
service's alerts would go at a given instant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from medic.api.auth import admin_access, get_medic, read_access
from medic.api.v2.schemas import DeletedName
from medic.ops import routing_policies, targets, working_hours
from medic.ops.actor import Actor
from medic.ops.routing_policies import (
    CreatePolicy,
    DeletePolicy,
    GetPolicy,
    ListPolicies,
    PolicyChanges,
    PolicyView,
    PreviewRoute,
    RoutePreview,
    UpdatePolicy,
)
from medic.ops.targets import (
    CreateTarget,
    DeleteTarget,
    GetTarget,
    ListTargets,
    TargetChanges,
    TargetView,
    UpdateTarget,
)
from medic.ops.working_hours import (
    CreateHours,
    DeleteHours,
    GetHours,
    HoursChanges,
    HoursView,
    ListHours,
    UpdateHours,
)
from medic.process import MedicProcess
from medic.web.envelope import Envelope, Limit, Offset, Page, envelope, page
from medic.web.params import row_id

router = APIRouter()
ServiceId = row_id("service")
MedicDep = Annotated[MedicProcess, Depends(get_medic)]


# --- notification targets ---------------------------------------------------------

targets_router = APIRouter(prefix="/notification-targets", tags=["v2 routing"])


@targets_router.get(
    "", response_model=Envelope[Page[TargetView]], summary="List targets (secrets masked)"
)
def list_targets(
    medic: MedicDep, actor: Actor = Depends(read_access), limit: Limit = 100, offset: Offset = 0
) -> JSONResponse:
    query = ListTargets.of(limit=limit, offset=offset)
    rows, total = targets.list_targets(medic.context(actor), query)
    return page(rows, total, limit, offset)


@targets_router.post(
    "", status_code=201, response_model=Envelope[TargetView], summary="Create a target"
)
def create_target(
    command: CreateTarget, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    target = targets.create_target(medic.context(actor), command)
    return envelope(target, "notification target created", 201)


@targets_router.get(
    "/{name}", response_model=Envelope[TargetView], summary="One target (secrets masked)"
)
def get_target(name: str, medic: MedicDep, actor: Actor = Depends(read_access)) -> JSONResponse:
    return envelope(targets.get_target(medic.context(actor), GetTarget.of(name=name)))


@targets_router.patch(
    "/{name}",
    response_model=Envelope[TargetView],
    summary="Change a target's config, kind or enabled",
)
def update_target(
    name: str,
    changes: TargetChanges,
    medic: MedicDep,
    actor: Actor = Depends(admin_access),
) -> JSONResponse:
    command = UpdateTarget.of(name=name, changes=changes)
    target = targets.update_target(medic.context(actor), command)
    return envelope(target, "notification target updated")


@targets_router.delete(
    "/{name}",
    response_model=Envelope[DeletedName],
    summary="Delete a target (409 while a policy names it)",
)
def delete_target(name: str, medic: MedicDep, actor: Actor = Depends(admin_access)) -> JSONResponse:
    target = targets.delete_target(medic.context(actor), DeleteTarget.of(name=name))
    return envelope(DeletedName(name=target.name), "notification target deleted")


# --- routing policies -------------------------------------------------------------

policies_router = APIRouter(prefix="/routing-policies", tags=["v2 routing"])


@policies_router.get("", response_model=Envelope[Page[PolicyView]], summary="List routing policies")
def list_policies(
    medic: MedicDep, actor: Actor = Depends(read_access), limit: Limit = 100, offset: Offset = 0
) -> JSONResponse:
    query = ListPolicies.of(limit=limit, offset=offset)
    rows, total = routing_policies.list_policies(medic.context(actor), query)
    return page(rows, total, limit, offset)


@policies_router.post(
    "", status_code=201, response_model=Envelope[PolicyView], summary="Create a routing policy"
)
def create_policy(
    command: CreatePolicy, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    policy = routing_policies.create_policy(medic.context(actor), command)
    return envelope(policy, "routing policy created", 201)


@policies_router.get("/{name}", response_model=Envelope[PolicyView], summary="One routing policy")
def get_policy(name: str, medic: MedicDep, actor: Actor = Depends(read_access)) -> JSONResponse:
    return envelope(routing_policies.get_policy(medic.context(actor), GetPolicy.of(name=name)))


@policies_router.patch(
    "/{name}", response_model=Envelope[PolicyView], summary="Change a policy's mode or rules"
)
def update_policy(
    name: str,
    changes: PolicyChanges,
    medic: MedicDep,
    actor: Actor = Depends(admin_access),
) -> JSONResponse:
    command = UpdatePolicy.of(name=name, changes=changes)
    policy = routing_policies.update_policy(medic.context(actor), command)
    return envelope(policy, "routing policy updated")


@policies_router.delete(
    "/{name}",
    response_model=Envelope[DeletedName],
    summary="Delete a policy (409 while services name it)",
)
def delete_policy(name: str, medic: MedicDep, actor: Actor = Depends(admin_access)) -> JSONResponse:
    policy = routing_policies.delete_policy(medic.context(actor), DeletePolicy.of(name=name))
    return envelope(DeletedName(name=policy.name), "routing policy deleted")


# --- working hours ----------------------------------------------------------------

hours_router = APIRouter(prefix="/working-hours", tags=["v2 routing"])


@hours_router.get(
    "", response_model=Envelope[Page[HoursView]], summary="List working-hours schedules"
)
def list_hours(
    medic: MedicDep, actor: Actor = Depends(read_access), limit: Limit = 100, offset: Offset = 0
) -> JSONResponse:
    query = ListHours.of(limit=limit, offset=offset)
    rows, total = working_hours.list_hours(medic.context(actor), query)
    return page(rows, total, limit, offset)


@hours_router.post(
    "",
    status_code=201,
    response_model=Envelope[HoursView],
    summary="Create a working-hours schedule",
)
def create_hours(
    command: CreateHours, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    hours = working_hours.create_hours(medic.context(actor), command)
    return envelope(hours, "working hours created", 201)


@hours_router.get(
    "/{name}", response_model=Envelope[HoursView], summary="One working-hours schedule"
)
def get_hours(name: str, medic: MedicDep, actor: Actor = Depends(read_access)) -> JSONResponse:
    return envelope(working_hours.get_hours(medic.context(actor), GetHours.of(name=name)))


@hours_router.patch("/{name}", response_model=Envelope[HoursView], summary="Change a schedule")
def update_hours(
    name: str,
    changes: HoursChanges,
    medic: MedicDep,
    actor: Actor = Depends(admin_access),
) -> JSONResponse:
    command = UpdateHours.of(name=name, changes=changes)
    hours = working_hours.update_hours(medic.context(actor), command)
    return envelope(hours, "working hours updated")


@hours_router.delete(
    "/{name}",
    response_model=Envelope[DeletedName],
    summary="Delete a schedule (409 while a policy names it)",
)
def delete_hours(name: str, medic: MedicDep, actor: Actor = Depends(admin_access)) -> JSONResponse:
    hours = working_hours.delete_hours(medic.context(actor), DeleteHours.of(name=name))
    return envelope(DeletedName(name=hours.name), "working hours deleted")


# --- preview ----------------------------------------------------------------------


@router.get(
    "/services/{service_id}/routing",
    response_model=Envelope[RoutePreview],
    tags=["v2 routing"],
    summary="Where the service's alerts would go at an instant (default now)",
)
def preview_routing(
    service_id: ServiceId,
    medic: MedicDep,
    actor: Actor = Depends(read_access),
    at: str | None = Query(None, description="ISO 8601 with an offset; default now"),
) -> JSONResponse:
    command = PreviewRoute.of(service=service_id, at=at)
    return envelope(routing_policies.route_preview(medic.context(actor), command))


for _sub in (targets_router, policies_router, hours_router):
    router.include_router(_sub)
