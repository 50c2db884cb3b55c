"""One version of a playbook: its YAML as applied, what changed against another version
(a diff, escaped), and restoring it: applying its YAML again as the newest version
(admin, through `playbook.apply`, audited as `playbook.update`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from medic.dashboard.forms import PostedDep, act
from medic.dashboard.pages import page_router, render
from medic.dashboard.playbook_text import diff, numbered
from medic.dashboard.playbooks import playbook_url
from medic.dashboard.session import Visitor, VisitorDep
from medic.ops import playbooks
from medic.ops.errors import MedicError
from medic.ops.operation import Context
from medic.ops.playbooks import ApplyPlaybook, GetPlaybook

router = page_router()


async def _version_page(
    request: Request,
    visitor: Visitor,
    name: str,
    version: int,
    against: int | None = None,
    error: MedicError | None = None,
) -> Response:
    shown = await visitor.run(playbooks.get_playbook, GetPlaybook.of(name=name, version=version))
    other_number = against if against is not None else version - 1
    other = None
    if other_number >= 1 and other_number != version:
        query = GetPlaybook.of(name=name, version=other_number)
        other = await visitor.run(playbooks.get_playbook, query)
    changes = []
    if other is not None:
        older, newer = (other, shown) if other.version < shown.version else (shown, other)
        changes = diff(
            older.source_yaml,
            newer.source_yaml,
            f"version {older.version}",
            f"version {newer.version}",
        )
    return render(
        request,
        "playbook_version.html",
        visitor,
        status_code=error.status_code if error else 200,
        error=error.message if error else None,
        shown=shown,
        other=other,
        changes=changes,
        lines=numbered(shown.source_yaml),
        playbook_url=playbook_url,
    )


@router.get("/playbooks/{name}/versions/{version}")
async def version_page(
    request: Request,
    visitor: VisitorDep,
    name: str,
    version: int,
    against: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    return await _version_page(request, visitor, name, version, against)


@router.post("/playbooks/{name}/versions/{version}/restore")
async def restore(request: Request, form: PostedDep, name: str, version: int) -> Response:
    async def again(error: MedicError) -> Response:
        return await _version_page(request, form.visitor, name, version, error=error)

    def work(context: Context) -> object:
        old = playbooks.get_playbook(context, GetPlaybook.of(name=name, version=version))
        return playbooks.apply_playbook(context, ApplyPlaybook.of(source_yaml=old.source_yaml))

    def done(applied: playbooks.Applied) -> str:
        return playbook_url(applied.name)

    notice = f"Version {version} restored as the newest version."
    return await act(form, work, done=done, notice=notice, again=again)
