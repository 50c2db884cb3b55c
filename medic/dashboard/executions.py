"""The executions pages: the list with its filters (playbook, service, state,
requester, period; paged), and one execution with every step's outcome and output
(text, capped) and, while it waits, the full request and Approve / Decline.

Deciding goes through the same operations as Slack and the approval page
(`execution.approve` / `execution.decline`), which keep the approver rules: an
approver, never the requester, once, before the deadline. The form carries the
version the page showed, so a decision holds only for the request that was seen.
Notices about an execution link here (medic.core.links.execution_page)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from medic.dashboard.forms import Posted, PostedDep, act
from medic.dashboard.pages import PREFIX, page_router, render
from medic.dashboard.periods import PERIODS, bounds
from medic.dashboard.playbooks import playbook_url
from medic.dashboard.session import Visitor, VisitorDep
from medic.ops import execution_list, executions, playbooks, services
from medic.ops.errors import MedicError, NotFound
from medic.ops.execution_list import ExecutionState, ListExecutions
from medic.ops.executions import ApproveExecution, DeclineExecution, GetExecution
from medic.ops.operation import Context
from medic.ops.playbooks import GetPlaybook
from medic.ops.service_commands import GetService

router = page_router()
PAGE_SIZE = 50
STATES: list[tuple[str, str]] = [
    (state, state.replace("_", " "))
    for state in ExecutionState.__args__  # type: ignore[attr-defined]
]
FILTERS = ("playbook", "service", "state", "requester", "period", "since", "until")
Text = Annotated[str | None, Query(max_length=255)]


@router.get("/executions")
async def executions_page(
    request: Request,
    visitor: VisitorDep,
    playbook: Text = None,
    service: Text = None,
    state: Text = None,
    requester: Text = None,
    period: Annotated[str | None, Query(max_length=8)] = None,
    since: Annotated[str | None, Query(max_length=64)] = None,
    until: Annotated[str | None, Query(max_length=64)] = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Response:
    given = {
        "playbook": playbook,
        "service": service,
        "state": state,
        "requester": requester,
        "period": period,
        "since": since,
        "until": until,
    }
    filters = {name: value.strip() for name, value in given.items() if value and value.strip()}
    matching = {
        k: v for k, v in filters.items() if k in ("playbook", "service", "state", "requester")
    }
    query = ListExecutions.of(
        **matching,
        **bounds(filters.get("period"), filters.get("since"), filters.get("until")),
        limit=PAGE_SIZE,
        offset=offset,
    )
    rows, total = await visitor.run(execution_list.list_executions, query)

    def page_url(at: int) -> str:
        return f"{PREFIX}/executions?{urlencode({**filters, 'offset': at})}"

    after = offset + len(rows)
    return render(
        request,
        "executions.html",
        visitor,
        rows=rows,
        total=total,
        offset=offset,
        filters=filters,
        states=STATES,
        periods=PERIODS,
        previous_url=page_url(max(0, offset - PAGE_SIZE)) if offset else None,
        next_url=page_url(after) if after < total else None,
    )


async def _pinned(visitor: Visitor, view: executions.ExecutionView) -> Any:
    """The version the execution pinned (what runs and how it asks); None when the
    playbook was since deleted (archived under another name)."""
    try:
        query = GetPlaybook.of(name=view.playbook, version=view.version)
        return await visitor.run(playbooks.get_playbook, query)
    except NotFound:
        return None


async def _service_name(visitor: Visitor, service_id: int | None) -> str | None:
    if service_id is None:
        return None
    try:
        service = await visitor.run(services.get_service, GetService.of(service=service_id))
    except NotFound:
        return None
    return service.heartbeat_name


async def execution_page(
    request: Request, visitor: Visitor, execution_id: int, error: MedicError | None = None
) -> Response:
    view = await visitor.run(executions.get_execution, GetExecution.of(execution_id=execution_id))
    pinned = await _pinned(visitor, view)
    definition = pinned.definition if pinned is not None else {}
    return render(
        request,
        "execution.html",
        visitor,
        status_code=error.status_code if error else 200,
        error=f"Nothing changed: {error.message}" if error else None,
        execution=view,
        service_name=await _service_name(visitor, view.service_id),
        approval=definition.get("approval"),
        planned=definition.get("steps", []),
        playbook_url=playbook_url,
    )


@router.get("/executions/{execution_id}")
async def execution_detail(request: Request, visitor: VisitorDep, execution_id: int) -> Response:
    return await execution_page(request, visitor, execution_id)


async def _decide(request: Request, form: Posted, execution_id: int, accept: bool) -> Response:
    async def again(error: MedicError) -> Response:
        return await execution_page(request, form.visitor, execution_id, error)

    shown = {"execution_id": execution_id, **form.given("version")}

    def work(context: Context) -> object:
        if accept:
            return executions.approve(context, ApproveExecution.of(**shown))
        return executions.decline(context, DeclineExecution.of(**shown))

    notice = "Approved: it runs now." if accept else "Declined: it will not run."
    done = f"{PREFIX}/executions/{execution_id}"
    return await act(form, work, done=done, notice=notice, again=again)


@router.post("/executions/{execution_id}/approve")
async def approve(request: Request, form: PostedDep, execution_id: int) -> Response:
    return await _decide(request, form, execution_id, True)


@router.post("/executions/{execution_id}/decline")
async def decline(request: Request, form: PostedDep, execution_id: int) -> Response:
    return await _decide(request, form, execution_id, False)
