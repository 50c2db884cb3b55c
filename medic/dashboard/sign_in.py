"""Signing in and out. `/` leads to the services page, or here when there is no session.

The sign-in form is protected against login CSRF by a double-submit token: a random
value in a cookie that only this page sets, repeated in the form. The key is checked
as every door checks one (medic.web.identity: cached argon2, failures counted against
the client's address), then the session is started by a declared operation.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from medic.dashboard.forms import CSRF_FIELD, CSRF_REFUSED, PostedDep, same_token
from medic.dashboard.pages import PREFIX, page_router, render, see_other
from medic.dashboard.session import end_session, find_visitor, medic_of, secure, start_session
from medic.ops import dashboard_sessions
from medic.ops.dashboard_sessions import EndSession, StartSession
from medic.ops.errors import MedicError, Unauthorized
from medic.web.identity import client_address, identify

router = page_router()
root = APIRouter(include_in_schema=False)
SIGN_IN_COOKIE = "medic_sign_in"
HOME = f"{PREFIX}/services"


def _next(value: str | None) -> str:
    """Only a dashboard path (never another site: no open redirect)."""
    if value and value.startswith(f"{PREFIX}/") and "//" not in value and "\\" not in value:
        return value
    return HOME


@root.get("/")
async def home(request: Request) -> RedirectResponse:
    visitor = await find_visitor(request)
    return RedirectResponse(HOME if visitor else f"{PREFIX}/sign-in", status_code=303)


@router.get("")
@router.get("/")
async def dashboard_home() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


def _form(
    request: Request, next_page: str, error: str | None = None, status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "sign_in.html",
        None,
        status_code=status_code,
        error=error,
        sign_in_token=token,
        next_page=next_page,
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        path=f"{PREFIX}/sign-in",
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    return response


@router.get("/sign-in")
async def sign_in_page(
    request: Request, next_page: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    if await find_visitor(request) is not None:
        return RedirectResponse(_next(next_page), status_code=303)
    return _form(request, _next(next_page))


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    next_page = _next(str(form.get("next") or ""))
    if not same_token(form.get(CSRF_FIELD), request.cookies.get(SIGN_IN_COOKIE) or ""):
        return _form(request, next_page, CSRF_REFUSED, 403)
    presented = str(form.get("api_key") or "").strip()
    if not presented:
        return _form(request, next_page, "Enter an API key.", 400)
    medic = medic_of(request)
    try:
        identity = await identify(medic, presented, client_address(request))
        context = medic.context(identity.actor("dashboard"))
        started = await run_in_threadpool(dashboard_sessions.sign_in, context, StartSession.of())
    except Unauthorized as exc:
        return _form(request, next_page, f"Not signed in: {exc.message}.", exc.status_code)
    except MedicError as exc:
        return _form(request, next_page, f"Not signed in: {exc.message}", exc.status_code)
    response = RedirectResponse(next_page, status_code=303)
    start_session(request, response, started.token, started.expires_at)
    response.delete_cookie(SIGN_IN_COOKIE, path=f"{PREFIX}/sign-in")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, form: PostedDep) -> Response:
    session_id = form.visitor.session.session_id
    await form.visitor.run(dashboard_sessions.sign_out, EndSession.of(session_id=session_id))
    response = see_other(f"{PREFIX}/sign-in", "Signed out.")
    end_session(request, response)
    return response
