"""The one way to post a dashboard form: declare `form: PostedDep` and call `act`.

Every form carries the session's CSRF token (templates/base.html's `csrf()` macro puts
it in); `PostedDep` refuses a POST without it, or with another session's, before
anything runs (403), and counts the action against the key's management rate limit.
`act` runs the declared operation as the visitor and answers like every page:
success, a redirect with a notice; a MedicError, the page again with the error and the
error's status, so the form keeps what was typed.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from medic.dashboard.pages import see_other
from medic.dashboard.session import Visitor, VisitorDep
from medic.ops.errors import Forbidden, MedicError
from medic.ops.operation import Context
from medic.ratelimit import MANAGEMENT
from medic.web.identity import enforce_rate_limit

CSRF_FIELD = "csrf_token"
CSRF_REFUSED = (
    "This form did not come from your Medic session (its security token is missing or "
    "wrong); nothing was changed. Reload the page and try again."
)


class CsrfRefused(Forbidden):
    audited_refusal = False


def same_token(given: object, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class Posted:
    """A form posted by the signed-in visitor, its CSRF token checked."""

    visitor: Visitor
    values: dict[str, str]

    def get(self, name: str) -> str | None:
        """The field stripped; None when missing or blank (the command's default)."""
        value = self.values.get(name, "").strip()
        return value or None

    def given(self, *names: str) -> dict[str, str]:
        """The named fields that were filled in, for a command: `Command.of(**given)`."""
        return {name: value for name in names if (value := self.get(name)) is not None}


async def posted(request: Request, visitor: VisitorDep) -> Posted:
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    if not same_token(values.get(CSRF_FIELD), visitor.csrf_token):
        raise CsrfRefused(CSRF_REFUSED)
    identity = f"key:{visitor.actor.api_key_id}"
    await enforce_rate_limit(request, visitor.medic, MANAGEMENT, identity, None)
    return Posted(visitor, values)


PostedDep = Annotated[Posted, Depends(posted)]
Again = Callable[[MedicError], Awaitable[Response]]


async def act(
    form: Posted,
    work: Callable[[Context], Any],
    *,
    done: str | Callable[[Any], str],
    notice: str,
    again: Again,
) -> Response:
    """`work(context)` calls one or more declared operations as the visitor. Success:
    303 to `done` (or `done(result)`) showing `notice`; a MedicError: `again(error)`
    renders the page with it."""
    try:
        result = await run_in_threadpool(work, form.visitor.context())
    except MedicError as exc:
        return await again(exc)
    return see_other(done(result) if callable(done) else done, notice)
