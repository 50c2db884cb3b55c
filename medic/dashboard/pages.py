"""The one way to render a dashboard page: `render(request, "page.html", visitor, ...)`
fills the layout (templates/base.html: navigation, who is signed in, the notice of the
last action, errors) and answers with the dashboard's security headers.

Pages are routed with `DashboardRoute` (see `page_router`): a missing session becomes a
redirect to the sign-in page, and a MedicError (refused, not found, invalid) becomes
the error page with the error's own status, so a page handler only handles success.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from medic.dashboard.session import SignInRequired, Visitor, find_visitor
from medic.ops.errors import InvalidInput, MedicError, RateLimited
from medic.ops.validation import describe_validation_error
from medic.web.html import page_headers

PREFIX = "/dashboard"
STATIC = Path(__file__).parent / "static"
NOTICE_COOKIE = "medic_notice"
# Scripts and styles only from Medic's own static files (no inline script or style),
# forms only back to Medic, images only Medic's own (badges) and inline SVG.
HEADERS = page_headers(
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# The navigation: (label, path, scope needed to see it). A new page adds its entry.
NAV: list[tuple[str, str, str]] = [
    ("Services", f"{PREFIX}/services", "read"),
    ("Alerts", f"{PREFIX}/alerts", "read"),
    ("Maintenance", f"{PREFIX}/maintenance", "read"),
    ("Teams", f"{PREFIX}/teams", "read"),
    ("Routing", f"{PREFIX}/routing", "read"),
    ("Playbooks", f"{PREFIX}/playbooks", "read"),
    ("Executions", f"{PREFIX}/executions", "read"),
    ("Audit log", f"{PREFIX}/audit", "admin"),
    ("API keys", f"{PREFIX}/keys", "admin"),
]

templates = Environment(
    loader=PackageLoader("medic.dashboard", "templates"),
    autoescape=select_autoescape(["html", "svg"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _relative(value: datetime | None) -> str:
    """'in 4 min' or '3 h ago', for people scanning a table."""
    if value is None:
        return ""
    seconds = (value - datetime.now(UTC)).total_seconds()
    amount = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if amount >= size:
            text = f"{int(amount // size)} {unit}"
            break
    else:
        text = f"{int(amount)} s"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def _local_path(url: str) -> str:
    """A URL of this Medic as a path, so a page shows it from where it was served (the
    CSP allows only its own origin; MEDIC_BASE_URL may name another host)."""
    return urlsplit(url).path


templates.filters["when"] = _when
templates.filters["local_path"] = _local_path
templates.filters["relative"] = _relative
templates.globals["prefix"] = PREFIX


def render(
    request: Request,
    template: str,
    visitor: Visitor | None,
    *,
    status_code: int = 200,
    error: str | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """`template` (extending base.html) with `context`, the visitor (None on the sign-in
    page) and the notice left by the last action (shown once)."""
    notice = unquote(request.cookies.get(NOTICE_COOKIE, ""))[:300] or None
    nav = [(label, path) for label, path, scope in NAV if visitor and visitor.can(scope)]
    html = templates.get_template(template).render(
        visitor=visitor,
        nav=nav,
        path=request.url.path,
        notice=notice,
        error=error,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code, headers={**HEADERS, **(headers or {})})
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


def see_other(location: str, notice: str | None = None, **query: Any) -> RedirectResponse:
    """After a successful POST: back to a page (303), with a notice it shows once."""
    present = {k: v for k, v in query.items() if v not in (None, "")}
    url = f"{location}?{urlencode(present)}" if present else location
    response = RedirectResponse(url, status_code=303)
    if notice:
        response.set_cookie(NOTICE_COOKIE, quote(notice), path="/", httponly=True, samesite="lax")
    return response


def error_page(request: Request, visitor: Visitor | None, error: MedicError) -> HTMLResponse:
    headers = error.headers if isinstance(error, RateLimited) else None
    return render(
        request,
        "error.html",
        visitor,
        status_code=error.status_code,
        error=error.message,
        headers=headers,
    )


def sign_in_location(request: Request) -> str:
    """The sign-in page, coming back here afterwards (a dashboard path only)."""
    path = request.url.path
    back = path + (f"?{request.url.query}" if request.url.query else "")
    if request.method == "GET" and path.startswith(f"{PREFIX}/") and path != f"{PREFIX}/sign-in":
        return f"{PREFIX}/sign-in?{urlencode({'next': back})}"
    return f"{PREFIX}/sign-in"


class DashboardRoute(APIRoute):
    """Answers a page's missing session and its MedicErrors the dashboard's way."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return RedirectResponse(sign_in_location(request), status_code=303)
            except MedicError as exc:
                return error_page(request, await find_visitor(request), exc)
            except RequestValidationError as exc:
                invalid = InvalidInput(describe_validation_error(list(exc.errors())))
                return error_page(request, await find_visitor(request), invalid)

        return run


def page_router() -> APIRouter:
    """The router a page module declares its routes on (medic.dashboard.mount adds it)."""
    return APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)
