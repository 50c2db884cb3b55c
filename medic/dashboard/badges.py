"""Status badges at their capability URLs, for READMEs, wikis and status pages: no key,
no session, the unguessable token is the permission (medic.ops.badges). SVG, and JSON
in shields.io's endpoint format (`https://img.shields.io/endpoint?url=<json url>`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from medic.dashboard.pages import templates
from medic.dashboard.session import medic_of
from medic.ops.badges import Badge, find_badge
from medic.ops.errors import NotFound

router = APIRouter(include_in_schema=False)
COLORS = {"up": "#2b7a2b", "late": "#a4540a", "down": "#c0282d"}
SHIELDS_COLORS = {"up": "brightgreen", "late": "orange", "down": "red"}
MAX_LABEL = 40
HEADERS = {
    "Cache-Control": "no-cache, max-age=0",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


async def _badge(request: Request, token: str) -> Badge | None:
    try:
        return await run_in_threadpool(find_badge, medic_of(request).db, token)
    except NotFound:
        return None


def _text_width(text: str) -> int:
    """About Verdana 11 px, plus padding: close enough for a badge."""
    return int(len(text) * 6.8) + 12


@router.get("/badges/{token}.svg")
async def svg_badge(request: Request, token: str) -> Response:
    badge = await _badge(request, token)
    if badge is None:
        return PlainTextResponse("no such badge", status_code=404, headers=HEADERS)
    label = badge.label if len(badge.label) <= MAX_LABEL else badge.label[: MAX_LABEL - 1] + "…"
    label_width, status_width = _text_width(label), _text_width(badge.status)
    svg = templates.get_template("badge.svg").render(
        label=label,
        status=badge.status,
        color=COLORS[badge.status],
        label_width=label_width,
        status_width=status_width,
        width=label_width + status_width,
    )
    return Response(svg, media_type="image/svg+xml", headers=HEADERS)


@router.get("/badges/{token}.json")
async def json_badge(request: Request, token: str) -> Response:
    badge = await _badge(request, token)
    if badge is None:
        return JSONResponse({"message": "no such badge"}, status_code=404, headers=HEADERS)
    body = {
        "schemaVersion": 1,
        "label": badge.label,
        "message": badge.status,
        "color": SHIELDS_COLORS[badge.status],
        "status": badge.status,
        "kind": badge.kind,
    }
    return JSONResponse(body, headers={**HEADERS, "Access-Control-Allow-Origin": "*"})
