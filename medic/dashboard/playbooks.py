"""The playbooks pages: the list, a playbook with its YAML, its versions and its
switch (enable / disable), and the editor that applies YAML (admin). A definition
with problems is shown back with each problem at its line and nothing is saved; an
applied one shows what it relies on that this Medic lacks (secrets, scripts)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Query, Request, Response

from medic.dashboard.forms import Posted, PostedDep, act
from medic.dashboard.pages import PREFIX, page_router, render, see_other
from medic.dashboard.playbook_text import issues_of, numbered
from medic.dashboard.session import Visitor, VisitorDep
from medic.ops import playbooks
from medic.ops.errors import InvalidInput, MedicError
from medic.ops.operation import Context
from medic.ops.playbooks import (
    ApplyPlaybook,
    DisablePlaybook,
    EnablePlaybook,
    GetPlaybook,
    ListPlaybooks,
    ListPlaybookVersions,
)

router = page_router()
PAGE_SIZE = 50
VERSIONS_SHOWN = 50
EXAMPLE = """name: restart-worker
description: Restart the worker when its heartbeats stop
trigger:
  service_pattern: worker-*
  consecutive_failures: 2
approval: required
steps:
  - name: restart
    type: webhook
    url: https://deploy.example.com/restart/${SERVICE_NAME}
"""


def playbook_url(name: str) -> str:
    return f"{PREFIX}/playbooks/{quote(name, safe='')}"


@router.get("/playbooks")
async def playbooks_page(
    request: Request,
    visitor: VisitorDep,
    archived: Annotated[bool, Query()] = False,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Response:
    query = ListPlaybooks.of(archived=archived, limit=PAGE_SIZE, offset=offset)
    rows, total = await visitor.run(playbooks.list_playbooks, query)
    after = offset + len(rows)
    flag = "&archived=true" if archived else ""
    return render(
        request,
        "playbooks.html",
        visitor,
        rows=rows,
        total=total,
        offset=offset,
        archived=archived,
        playbook_url=playbook_url,
        previous_url=f"{PREFIX}/playbooks?offset={max(0, offset - PAGE_SIZE)}{flag}"
        if offset
        else None,
        next_url=f"{PREFIX}/playbooks?offset={after}{flag}" if after < total else None,
    )


def _editor(
    request: Request,
    visitor: Visitor,
    source_yaml: str,
    *,
    playbook: Any = None,
    versions: list[Any] | None = None,
    error: MedicError | None = None,
    checked: bool = False,
    warnings: list[str] | None = None,
    notice: str | None = None,
) -> Response:
    """The editor page (a new playbook), or a playbook's page with its editor."""
    issues = issues_of(source_yaml) if error is not None else []
    return render(
        request,
        "playbook.html",
        visitor,
        status_code=error.status_code if error else 200,
        error=_error_text(error, issues),
        playbook=playbook,
        versions=versions or [],
        source_yaml=source_yaml,
        lines=numbered(source_yaml, issues),
        issues=issues,
        checked=checked,
        warnings=warnings or [],
        applied_notice=notice,
        playbook_url=playbook_url,
    )


def _error_text(error: MedicError | None, issues: list[Any]) -> str | None:
    if error is None:
        return None
    if issues:
        count = len(issues)
        problems = "1 problem" if count == 1 else f"{count} problems"
        return f"Not saved: {problems} in the YAML (below, at their line)."
    return f"Not saved: {error.message}"


@router.get("/new-playbook")
async def new_playbook_page(request: Request, visitor: VisitorDep) -> Response:
    return _editor(request, visitor, EXAMPLE)


async def _playbook_parts(visitor: Visitor, name: str) -> tuple[Any, list[Any]]:
    detail = await visitor.run(playbooks.get_playbook, GetPlaybook.of(name=name))
    versions, _ = await visitor.run(
        playbooks.list_versions, ListPlaybookVersions.of(name=name, limit=VERSIONS_SHOWN)
    )
    return detail, versions


@router.get("/playbooks/{name}")
async def playbook_page(request: Request, visitor: VisitorDep, name: str) -> Response:
    detail, versions = await _playbook_parts(visitor, name)
    return _editor(request, visitor, detail.source_yaml, playbook=detail, versions=versions)


@router.post("/playbooks/apply")
async def apply(request: Request, form: PostedDep) -> Response:
    """`intent=check` validates only; else the YAML is applied (admin, audited)."""
    visitor = form.visitor
    source_yaml = form.values.get("source_yaml", "").replace("\r\n", "\n")
    shown_name = form.get("playbook")

    async def again(error: MedicError) -> Response:
        detail, versions = None, []
        if shown_name:
            try:
                detail, versions = await _playbook_parts(visitor, shown_name)
            except MedicError:
                detail, versions = None, []
        return _editor(
            request,
            visitor,
            source_yaml,
            playbook=detail,
            versions=versions,
            error=error,
        )

    if form.get("intent") == "check":
        issues = issues_of(source_yaml)
        if issues:
            return await again(InvalidInput("invalid playbook"))
        detail, versions = await _playbook_parts(visitor, shown_name) if shown_name else (None, [])
        return _editor(
            request, visitor, source_yaml, playbook=detail, versions=versions, checked=True
        )
    try:
        applied = await visitor.run(
            playbooks.apply_playbook, ApplyPlaybook.of(source_yaml=source_yaml)
        )
    except MedicError as exc:
        return await again(exc)
    if not applied.changed:
        notice = f"Unchanged: {applied.name} is already this (version {applied.version})."
    elif applied.created:
        notice = f"Created {applied.name} (version 1)."
    else:
        notice = f"Saved {applied.name} as version {applied.version}."
    if applied.warnings:
        detail, versions = await _playbook_parts(visitor, applied.name)
        return _editor(
            request,
            visitor,
            detail.source_yaml,
            playbook=detail,
            versions=versions,
            warnings=applied.warnings,
            notice=notice,
        )
    return see_other(playbook_url(applied.name), notice)


async def _switch(request: Request, form: Posted, name: str, enabled: bool) -> Response:
    async def again(error: MedicError) -> Response:
        detail, versions = await _playbook_parts(form.visitor, name)
        return _editor(
            request,
            form.visitor,
            detail.source_yaml,
            playbook=detail,
            versions=versions,
            error=error,
        )

    def work(context: Context) -> object:
        if enabled:
            return playbooks.enable(context, EnablePlaybook.of(name=name))
        return playbooks.disable(context, DisablePlaybook.of(name=name))

    notice = "Enabled." if enabled else "Disabled: it never runs, and what waited was cancelled."
    return await act(form, work, done=playbook_url(name), notice=notice, again=again)


@router.post("/playbooks/{name}/enable")
async def enable(request: Request, form: PostedDep, name: str) -> Response:
    return await _switch(request, form, name, True)


@router.post("/playbooks/{name}/disable")
async def disable(request: Request, form: PostedDep, name: str) -> Response:
    return await _switch(request, form, name, False)
