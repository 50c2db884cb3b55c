"""Who is signed in: the session cookie, found server-side (medic.ops.dashboard_sessions),
and the one dependency every page declares: `visitor: VisitorDep`.

A visitor acts with its key's scopes through the declared operations (`run`), so every
action is checked and audited there, as front door `dashboard`. `can(scope)` only hides
controls; the operations refuse anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from medic.core.scopes import grants
from medic.ops.actor import Actor
from medic.ops.dashboard_sessions import SignedIn, find_session
from medic.ops.operation import Context
from medic.process import MedicProcess

T = TypeVar("T")
SESSION_COOKIE = "medic_session"


class SignInRequired(Exception):
    """No live session: the page answers with a redirect to the sign-in page."""


def medic_of(request: Request) -> MedicProcess:
    return request.app.state.medic


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in person on one request."""

    request: Request
    medic: MedicProcess
    session: SignedIn

    @property
    def actor(self) -> Actor:
        return self.session.actor

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    def can(self, scope: str) -> bool:
        return grants(self.actor.scopes, scope)

    def context(self) -> Context:
        return self.medic.context(self.actor)

    async def run(self, operation: Callable[..., T], *args: Any) -> T:
        """A declared operation as this visitor (in a worker thread: they block)."""
        return await run_in_threadpool(operation, self.context(), *args)


async def find_visitor(request: Request) -> Visitor | None:
    cached = getattr(request.state, "visitor", None)
    if cached is not None:
        return cached
    medic = medic_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    found = await run_in_threadpool(find_session, medic.db, token)
    if found is None:
        return None
    request.state.visitor = Visitor(request, medic, found)
    return request.state.visitor


async def signed_in(request: Request) -> Visitor:
    """The one session dependency: the visitor, or a redirect to the sign-in page."""
    visitor = await find_visitor(request)
    if visitor is None:
        raise SignInRequired
    return visitor


VisitorDep = Annotated[Visitor, Depends(signed_in)]


def secure(request: Request) -> bool:
    """Behind https (uvicorn reads the scheme from a trusted proxy), cookies are Secure."""
    return request.url.scheme == "https"


def start_session(request: Request, response: Response, token: str, expires_at: datetime) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        expires=expires_at,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure(request)
    )
