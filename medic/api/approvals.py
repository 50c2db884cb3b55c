"""`/approvals/{token}`: the approval page PagerDuty and Slack link to (SRE-22).

A plain server-rendered page: the full context of the request, and a form where an
approver enters their API key and accepts or declines. The link's token only lets
one look; the decision goes through the same rules as everywhere (an approver, never
the requester, once, before the deadline), as the key's holder via the dashboard, and
is bound to the request the link names (its token and pinned version).

The form sends exactly `accept` or `decline`; anything else is a 400 and decides
nothing. Every answer forbids framing (X-Frame-Options, CSP frame-ancestors), so no
other site can overlay the buttons, and its CSP allows no script at all and only
this page's own style.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from medic.api.auth import get_medic
from medic.ops import executions
from medic.ops.errors import InvalidInput, MedicError
from medic.ops.executions import ApproveExecution, DeclineExecution
from medic.process import MedicProcess
from medic.web.html import page_headers
from medic.web.identity import client_address, identify

router = APIRouter(tags=["approvals"], include_in_schema=False)
MedicDep = Annotated[MedicProcess, Depends(get_medic)]

Decision = Literal["accept", "decline"]
DECISIONS: tuple[str, ...] = get_args(Decision)
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}\n"
    "dt{font-weight:600}dd{margin:0 0 .6rem 0}.note{padding:.6rem;background:#f4f4f4}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# On every answer of this router: never framed (clickjacking the buttons), no script,
# no other origin, the form posts back here only, the capability URL never leaks as a
# Referer, and nothing is cached.
SECURITY_HEADERS = page_headers(
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Medic approval #{id}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{style}</style>
</head><body>
<h1>Run playbook <code>{playbook}</code> v{version}?</h1>
{note}
<dl>
<dt>State</dt><dd>{state}</dd>
<dt>Service</dt><dd>{service}</dd>
<dt>Why</dt><dd>{reason}</dd>
<dt>Requested by</dt><dd>{requested_by} via {front_door}</dd>
<dt>Decide before</dt><dd>{deadline}</dd>
<dt>Decided by</dt><dd>{decided_by}</dd>
<dt>Error</dt><dd>{error}</dd>
</dl>
{steps}
{form}
</body></html>
"""
FORM = """<form method="post">
<p><label>Your Medic API key (an approver's; never the requester's)<br>
<input type="password" name="api_key" required autocomplete="off" size="60"></label></p>
<button name="decision" value="accept">Accept</button>
<button name="decision" value="decline">Decline</button>
</form>"""


def _page(view: executions.ExecutionView, note: str = "", status_code: int = 200) -> HTMLResponse:
    pending = view.state == "pending_approval"
    html = PAGE.format(
        style=STYLE,
        id=view.execution_id,
        playbook=escape(view.playbook),
        version=view.version,
        note=f'<p class="note">{escape(note)}</p>' if note else "",
        state=escape(view.state),
        service=escape(str(view.service_id)) if view.service_id else "none",
        reason=escape(view.reason or "—"),
        requested_by=escape(view.requested_by),
        front_door=escape(view.front_door),
        deadline=escape(view.approval_deadline.isoformat() if view.approval_deadline else "—"),
        decided_by=escape(view.decided_by or "—"),
        error=escape(view.error or "—"),
        steps=_steps(view),
        form=FORM if pending else "",
    )
    return _answer(html, status_code)


def _steps(view: executions.ExecutionView) -> str:
    """What ran so far, one line a step (failure notices link here until the dashboard)."""
    if not view.steps:
        return ""
    items = "".join(
        f"<li><code>{escape(step.name)}</code>: {escape(step.state)}"
        f"{' — ' + escape(step.summary) if step.summary else ''}</li>"
        for step in view.steps
    )
    return f"<h2>Steps</h2><ol>{items}</ol>"


def _answer(html: str, status_code: int) -> HTMLResponse:
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


@router.get("/approvals/{token}", response_class=HTMLResponse)
async def approval_page(token: str, medic: MedicDep) -> HTMLResponse:
    try:
        view = await run_in_threadpool(executions.find_by_approval_token, medic.db, token)
    except MedicError as exc:
        return _answer(f"<p>{escape(exc.message)}</p>", exc.status_code)
    return _page(view)


@router.post("/approvals/{token}", response_class=HTMLResponse)
async def decide_on_page(
    token: str,
    medic: MedicDep,
    request: Request,
    api_key: Annotated[str | None, Form()] = None,
    decision: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    try:
        view = await run_in_threadpool(executions.find_by_approval_token, medic.db, token)
        # Exactly one of the two buttons, or nothing is decided (never "else: decline").
        if decision not in DECISIONS:
            raise InvalidInput(f"decision must be one of {', '.join(DECISIONS)}")
        if not api_key or not api_key.strip():
            raise InvalidInput("enter an approver's API key")
        # A wrong key counts against this address, as on every door (429 past the limit).
        identity = await identify(medic, api_key.strip(), client_address(request))
        actor = identity.actor("dashboard")
        # Bound to the request this link names: its token and its pinned version.
        bound = {
            "execution_id": view.execution_id,
            "approval_token": token,
            "version": view.version,
        }
        if decision == "accept":
            approve = ApproveExecution.of(**bound)
            await run_in_threadpool(executions.approve, medic.context(actor), approve)
        else:
            decline = DeclineExecution.of(**bound)
            await run_in_threadpool(executions.decline, medic.context(actor), decline)
    except MedicError as exc:
        try:
            view = await run_in_threadpool(executions.find_by_approval_token, medic.db, token)
        except MedicError:
            return _answer(f"<p>{escape(exc.message)}</p>", exc.status_code)
        return _page(view, f"Nothing changed: {exc.message}", exc.status_code)
    view = await run_in_threadpool(executions.find_by_approval_token, medic.db, token)
    verb = "Accepted" if decision == "accept" else "Declined"
    return _page(view, f"{verb}. Thank you.")
