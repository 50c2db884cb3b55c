"""API keys (admin): their names, scopes, expiry and state; creating a key and rotating
one show the key this once, on the page that answers the form (never in a redirect, a
notice or a log); revoking one. Revoking or rotating the key of the visitor's own
session ends that session (the operations make it invalid; the page says so and
drops the cookie)."""

from __future__ import annotations

from fastapi import Request, Response

from medic.core.scopes import SCOPES
from medic.dashboard.forms import PostedDep, act
from medic.dashboard.inputs import NO_STORE
from medic.dashboard.pages import PREFIX, page_router, render, see_other
from medic.dashboard.session import Visitor, VisitorDep, end_session
from medic.ops import keys
from medic.ops.errors import MedicError
from medic.ops.keys import CreateKey, IssuedKey, ListKeys, RevokeKey, RotateKey
from medic.ops.operation import Context

router = page_router()
HOME = f"{PREFIX}/keys"
FIELDS = ("name", "expires_in", "host", *(f"scope_{scope}" for scope in SCOPES))


async def keys_page(
    request: Request,
    visitor: Visitor,
    *,
    error: MedicError | None = None,
    values: dict[str, str] | None = None,
    issued: IssuedKey | None = None,
    issued_how: str = "",
) -> Response:
    rows = await visitor.run(keys.list_keys, ListKeys.of())
    return render(
        request,
        "keys.html",
        visitor,
        status_code=error.status_code if error else 200,
        error=error.message if error else None,
        headers=NO_STORE if issued else None,
        keys=rows,
        scopes=SCOPES,
        own_key=visitor.actor.api_key_id,
        issued=issued,
        issued_how=issued_how,
        values={name: (values or {}).get(name, "") for name in FIELDS},
    )


@router.get("/keys")
async def keys_list(request: Request, visitor: VisitorDep) -> Response:
    return await keys_page(request, visitor)


@router.post("/keys")
async def create(request: Request, form: PostedDep) -> Response:
    visitor = form.visitor
    chosen = [scope for scope in SCOPES if form.get(f"scope_{scope}")]
    try:
        command = CreateKey.of(
            **form.given("expires_in", "host"), name=form.get("name") or "", scopes=chosen
        )
        issued = await visitor.run(keys.create_key, command)
    except MedicError as exc:
        return await keys_page(request, visitor, error=exc, values=form.values)
    return await keys_page(request, visitor, issued=issued, issued_how="created")


@router.post("/keys/{api_key_id}/rotate")
async def rotate(request: Request, form: PostedDep, api_key_id: int) -> Response:
    visitor = form.visitor
    try:
        issued = await visitor.run(keys.rotate_key, RotateKey.of(key=api_key_id))
    except MedicError as exc:
        return await keys_page(request, visitor, error=exc)
    if api_key_id == visitor.actor.api_key_id:
        response = render(request, "key_rotated_own.html", None, headers=NO_STORE, issued=issued)
        end_session(request, response)
        return response
    return await keys_page(request, visitor, issued=issued, issued_how="rotated")


@router.post("/keys/{api_key_id}/revoke")
async def revoke(request: Request, form: PostedDep, api_key_id: int) -> Response:
    own = api_key_id == form.visitor.actor.api_key_id

    async def again(error: MedicError) -> Response:
        return await keys_page(request, form.visitor, error=error)

    def work(context: Context) -> str:
        return keys.revoke_key(context, RevokeKey.of(key=api_key_id)).name

    response = await act(form, work, done=HOME, notice="Key revoked.", again=again)
    if own and response.status_code == 303:
        response = see_other(f"{PREFIX}/sign-in", "Your key was revoked: you are signed out.")
        end_session(request, response)
    return response
