"""Teams: where their alerts go in Slack and who approves their playbooks (admin), their
status badge URLs (rotated by write keys), and their ping key for slug ping URLs
(admin; shown once, on the page that answers the rotation, never again)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request, Response

from medic.dashboard.forms import Posted, PostedDep, act
from medic.dashboard.inputs import NO_STORE, items
from medic.dashboard.pages import PREFIX, page_router, render
from medic.dashboard.session import Visitor, VisitorDep
from medic.ops import badges, ping_keys, teams
from medic.ops.badges import GetBadge, RotateBadge
from medic.ops.errors import MedicError
from medic.ops.operation import Context
from medic.ops.ping_keys import PingKeyView, RotatePingKey
from medic.ops.teams import CreateTeam, GetTeam, ListTeams, UpdateTeam

router = page_router()
FIELDS = ("name", "slack_channel_id", "approvers")


def _team_url(name: str) -> str:
    return f"{PREFIX}/teams/{quote(name, safe='')}"


def _settings(form: Posted) -> dict[str, object]:
    return {
        "slack_channel_id": form.get("slack_channel_id"),
        "approvers": items(form.get("approvers")),
    }


async def list_page(
    request: Request,
    visitor: Visitor,
    *,
    error: MedicError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    rows, total = await visitor.run(teams.list_teams, ListTeams.of())
    return render(
        request,
        "teams.html",
        visitor,
        status_code=error.status_code if error else 200,
        error=error.message if error else None,
        teams=rows,
        total=total,
        team_url=_team_url,
        values={name: (values or {}).get(name, "") for name in FIELDS},
    )


async def team_page(
    request: Request,
    visitor: Visitor,
    name: str,
    *,
    error: MedicError | None = None,
    values: dict[str, str] | None = None,
    ping_key: PingKeyView | None = None,
) -> Response:
    team = await visitor.run(teams.get_team, GetTeam.of(name=name))
    badge = await visitor.run(badges.get_badge, GetBadge.of(team=team.name))
    if values is None:
        values = {
            "slack_channel_id": team.slack_channel_id or "",
            "approvers": "\n".join(team.approvers),
        }
    return render(
        request,
        "team.html",
        visitor,
        status_code=error.status_code if error else 200,
        error=error.message if error else None,
        headers=NO_STORE if ping_key else None,
        team=team,
        badge=badge,
        ping_key=ping_key,
        team_url=_team_url(team.name),
        values={name: values.get(name, "") for name in FIELDS},
    )


@router.get("/teams")
async def teams_page(request: Request, visitor: VisitorDep) -> Response:
    return await list_page(request, visitor)


@router.post("/teams")
async def create(request: Request, form: PostedDep) -> Response:
    async def again(error: MedicError) -> Response:
        return await list_page(request, form.visitor, error=error, values=form.values)

    def work(context: Context) -> str:
        command = CreateTeam.of(name=form.get("name") or "", **_settings(form))
        return teams.create_team(context, command).name

    return await act(form, work, done=_team_url, notice="Team created.", again=again)


@router.get("/teams/{name}")
async def team_detail(request: Request, visitor: VisitorDep, name: str) -> Response:
    return await team_page(request, visitor, name)


@router.post("/teams/{name}")
async def update(request: Request, form: PostedDep, name: str) -> Response:
    async def again(error: MedicError) -> Response:
        return await team_page(request, form.visitor, name, error=error, values=form.values)

    def work(context: Context) -> object:
        return teams.update_team(context, UpdateTeam.of(name=name, changes=_settings(form)))

    return await act(form, work, done=_team_url(name), notice="Team saved.", again=again)


@router.post("/teams/{name}/badge")
async def rotate_badge(request: Request, form: PostedDep, name: str) -> Response:
    async def again(error: MedicError) -> Response:
        return await team_page(request, form.visitor, name, error=error)

    def work(context: Context) -> object:
        return badges.rotate_badge(context, RotateBadge.of(team=name))

    notice = "New badge URLs; the old ones stopped working."
    return await act(form, work, done=_team_url(name), notice=notice, again=again)


@router.post("/teams/{name}/ping-key")
async def rotate_ping_key(request: Request, form: PostedDep, name: str) -> Response:
    """Answered with the page itself, not a redirect: the key is shown this once."""
    visitor = form.visitor
    try:
        await visitor.run(teams.get_team, GetTeam.of(name=name))
        issued = await visitor.run(ping_keys.rotate, RotatePingKey.of(team=name))
    except MedicError as exc:
        return await team_page(request, visitor, name, error=exc)
    return await team_page(request, visitor, name, ping_key=issued)
