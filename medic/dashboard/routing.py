"""Notification targets and routing policies (admin configures them; everyone signed in
reads them, target secrets masked as the API masks them), and the preview: who is told
about service X at time T, as the delivery engine would decide it."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Query, Request, Response

from medic.dashboard.forms import Posted, PostedDep, act
from medic.dashboard.inputs import local_instant, zone
from medic.dashboard.pages import PREFIX, page_router, render
from medic.dashboard.session import Visitor, VisitorDep
from medic.ops import routing_policies, targets
from medic.ops.errors import InvalidInput, MedicError
from medic.ops.operation import Context
from medic.ops.routing_policies import (
    CreatePolicy,
    DeletePolicy,
    GetPolicy,
    ListPolicies,
    PreviewRoute,
    RoutePreview,
    UpdatePolicy,
)
from medic.ops.targets import CreateTarget, DeleteTarget, Kind, ListTargets, UpdateTarget

router = page_router()
HOME = f"{PREFIX}/routing"
KINDS = [(kind, kind) for kind in Kind.__args__]  # type: ignore[attr-defined]
MODES = [
    ("all", "all: every chosen target"),
    ("first_success", "first_success: in order, until one accepts"),
]
FIELDS = ("name", "kind", "config", "enabled", "mode", "rules")
RULES_EXAMPLE = '[{"targets": ["oncall-pager"], "priorities": ["p1"]}, {"targets": ["slack"]}]'


def _json(form: Posted, field: str, kind: type) -> Any:
    """A JSON field of the form (`config`: an object, `rules`: a list)."""
    text = form.get(field)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{field}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(value, kind):
        raise InvalidInput(f"{field}: must be a JSON {'object' if kind is dict else 'list'}")
    return value


def _values(posted: dict[str, str] | None, form: str) -> dict[str, str]:
    """What was typed in the form `form` (target or policy), to show it again."""
    posted = posted if posted and posted.get("form") == form else {}
    return {name: posted.get(name, "") for name in FIELDS}


def policy_url(name: str) -> str:
    return f"{HOME}/policies/{quote(name, safe='')}"


async def routing_page(
    request: Request,
    visitor: Visitor,
    *,
    error: MedicError | None = None,
    values: dict[str, str] | None = None,
    preview: dict[str, str] | None = None,
) -> Response:
    target_rows, _ = await visitor.run(targets.list_targets, ListTargets.of())
    policy_rows, _ = await visitor.run(routing_policies.list_policies, ListPolicies.of())
    preview = {name: (preview or {}).get(name, "") for name in ("service", "at", "timezone")}
    answer: RoutePreview | None = None
    if preview.get("service") and error is None:
        try:
            tz = zone(preview.get("timezone"), visitor.medic.settings.medic_timezone)
            at = local_instant(preview.get("at"), "at", tz)
            command = PreviewRoute.of(service=preview["service"], at=at)
            answer = await visitor.run(routing_policies.route_preview, command)
        except MedicError as exc:
            error = exc
    return render(
        request,
        "routing.html",
        visitor,
        status_code=error.status_code if error else 200,
        error=error.message if error else None,
        targets=target_rows,
        policies=policy_rows,
        preview=preview,
        answer=answer,
        target_values=_values(values, "target"),
        policy_values=_values(values, "policy"),
        kinds=KINDS,
        modes=MODES,
        rules_example=RULES_EXAMPLE,
        policy_url=policy_url,
        dumps=json.dumps,
        default_timezone=visitor.medic.settings.medic_timezone,
    )


@router.get("/routing")
async def routing(
    request: Request,
    visitor: VisitorDep,
    service: Annotated[str | None, Query(max_length=255)] = None,
    at: Annotated[str | None, Query(max_length=40)] = None,
    timezone: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    preview = {"service": (service or "").strip(), "at": at or "", "timezone": timezone or ""}
    return await routing_page(request, visitor, preview=preview)


def _again(request: Request, form: Posted):  # type: ignore[no-untyped-def]
    async def again(error: MedicError) -> Response:
        return await routing_page(request, form.visitor, error=error, values=form.values)

    return again


@router.post("/routing/targets")
async def create_target(request: Request, form: PostedDep) -> Response:
    def work(context: Context) -> object:
        command = CreateTarget.of(
            name=form.get("name") or "",
            kind=form.get("kind") or "",
            config=_json(form, "config", dict) or {},
            enabled=form.get("enabled") == "on",
        )
        return targets.create_target(context, command)

    notice = "Notification target created."
    return await act(form, work, done=HOME, notice=notice, again=_again(request, form))


@router.post("/routing/targets/{name}/enabled")
async def enable_target(request: Request, form: PostedDep, name: str) -> Response:
    enabled = form.get("enabled") == "true"

    def work(context: Context) -> object:
        command = UpdateTarget.of(name=name, changes={"enabled": enabled})
        return targets.update_target(context, command)

    notice = f"Target {name} {'enabled' if enabled else 'disabled'}."
    return await act(form, work, done=HOME, notice=notice, again=_again(request, form))


@router.post("/routing/targets/{name}/delete")
async def delete_target(request: Request, form: PostedDep, name: str) -> Response:
    def work(context: Context) -> object:
        return targets.delete_target(context, DeleteTarget.of(name=name))

    notice = f"Target {name} deleted."
    return await act(form, work, done=HOME, notice=notice, again=_again(request, form))


@router.post("/routing/policies")
async def create_policy(request: Request, form: PostedDep) -> Response:
    def work(context: Context) -> object:
        command = CreatePolicy.of(
            name=form.get("name") or "",
            mode=form.get("mode") or "all",
            rules=_json(form, "rules", list),
        )
        return routing_policies.create_policy(context, command)

    notice = "Routing policy created."
    return await act(form, work, done=HOME, notice=notice, again=_again(request, form))


async def policy_page(
    request: Request,
    visitor: Visitor,
    name: str,
    *,
    error: MedicError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    policy = await visitor.run(routing_policies.get_policy, GetPolicy.of(name=name))
    if values is None:
        values = {"mode": policy.mode, "rules": json.dumps(policy.rules, indent=2)}
    return render(
        request,
        "routing_policy.html",
        visitor,
        status_code=error.status_code if error else 200,
        error=error.message if error else None,
        policy=policy,
        modes=MODES,
        url=policy_url(policy.name),
        values={name: values.get(name, "") for name in ("mode", "rules")},
    )


@router.get("/routing/policies/{name}")
async def policy_detail(request: Request, visitor: VisitorDep, name: str) -> Response:
    return await policy_page(request, visitor, name)


@router.post("/routing/policies/{name}")
async def update_policy(request: Request, form: PostedDep, name: str) -> Response:
    async def again(error: MedicError) -> Response:
        return await policy_page(request, form.visitor, name, error=error, values=form.values)

    def work(context: Context) -> object:
        changes = {"mode": form.get("mode") or "all", "rules": _json(form, "rules", list)}
        return routing_policies.update_policy(context, UpdatePolicy.of(name=name, changes=changes))

    return await act(form, work, done=HOME, notice=f"Policy {name} saved.", again=again)


@router.post("/routing/policies/{name}/delete")
async def delete_policy(request: Request, form: PostedDep, name: str) -> Response:
    def work(context: Context) -> object:
        return routing_policies.delete_policy(context, DeletePolicy.of(name=name))

    notice = f"Policy {name} deleted."
    return await act(form, work, done=HOME, notice=notice, again=_again(request, form))
