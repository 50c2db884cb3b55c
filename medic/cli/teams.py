"""`medic team …`: teams, their Slack channel and playbook approvers, over HTTP
(`MEDIC_URL`, `MEDIC_API_KEY`)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import click

from medic.cli.remote import Remote, _print, json_option

TEAM_COLUMNS = ["name", "slack_channel_id", "approvers"]


def path(collection: str, name: str | None = None) -> str:
    """`/v2/<collection>[/<name>]`, the name escaped for a URL."""
    return f"/v2/{collection}" + (f"/{quote(name, safe='')}" if name is not None else "")


def list_all(collection: str) -> list[dict[str, Any]]:
    return Remote().call("GET", path(collection), params={"limit": 1000})["results"]["items"]


def show(item: dict[str, Any], as_json: bool, message: str) -> None:
    """The created or changed item: JSON, or a one-line confirmation."""
    click.echo(json.dumps(item, indent=2) if as_json else message)


def _row(team: dict[str, Any]) -> dict[str, Any]:
    return {**team, "approvers": ",".join(team["approvers"]) or "-"}


@click.group()
def team() -> None:
    """Teams: where their alerts go in Slack and who approves their playbooks (over HTTP)."""


@team.command("list")
@json_option
def team_list(as_json: bool) -> None:
    """List teams by name."""
    items = list_all("teams")
    if as_json:
        click.echo(json.dumps(items, indent=2))
    else:
        _print([_row(t) for t in items], False, TEAM_COLUMNS)


@team.command("create")
@click.argument("name")
@click.option("--channel", help="Slack channel id, e.g. C0123ABCD (default SLACK_CHANNEL_ID).")
@click.option("--approver", "approvers", multiple=True, help="Slack user id; repeat for more.")
@json_option
def team_create(name: str, channel: str | None, approvers: tuple[str, ...], as_json: bool) -> None:
    """Create a team; services name it in their `team` field."""
    body: dict[str, Any] = {"name": name, "approvers": list(approvers)}
    if channel:
        body["slack_channel_id"] = channel
    created = Remote().call("POST", path("teams"), json=body)["results"]
    show(created, as_json, f"created team {created['name']}")


@team.command("update")
@click.argument("name")
@click.option("--channel", help="A new Slack channel id.")
@click.option("--no-channel", is_flag=True, help="Use SLACK_CHANNEL_ID instead.")
@click.option("--approver", "approvers", multiple=True, help="Replaces the approvers; repeat.")
@click.option("--no-approvers", is_flag=True, help="Remove every approver.")
@json_option
def team_update(
    name: str,
    channel: str | None,
    no_channel: bool,
    approvers: tuple[str, ...],
    no_approvers: bool,
    as_json: bool,
) -> None:
    """Change a team's channel or approvers."""
    if channel and no_channel:
        raise click.UsageError("--channel and --no-channel contradict each other")
    if approvers and no_approvers:
        raise click.UsageError("--approver and --no-approvers contradict each other")
    body: dict[str, Any] = {}
    if channel or no_channel:
        body["slack_channel_id"] = channel
    if approvers or no_approvers:
        body["approvers"] = list(approvers)
    if not body:
        raise click.UsageError("nothing to change: give --channel, --approver or a --no-… flag")
    updated = Remote().call("PATCH", path("teams", name), json=body)["results"]
    show(updated, as_json, f"updated team {updated['name']}")


@team.command("delete")
@click.argument("name")
def team_delete(name: str) -> None:
    """Delete a team (refused while services name it)."""
    Remote().call("DELETE", path("teams", name))
    click.echo(f"deleted team {name}")


@team.group("ping-key")
def ping_key() -> None:
    """The team's ping key: slug ping URLs /ping/<ping key>/<slug>."""


@ping_key.command("rotate")
@click.argument("name")
@json_option
def ping_key_rotate(name: str, as_json: bool) -> None:
    """Give team NAME a new ping key (admin). Shown once; URLs with the old key stop
    working at once."""
    rotated = Remote().call("POST", path("teams", name) + "/ping-key")["results"]
    if as_json:
        click.echo(json.dumps(rotated, indent=2))
        return
    click.echo(f"ping key for team {rotated['team']}: {rotated['ping_key']}")
    click.echo(f"ping URLs: {rotated['ping_url']}<slug>  (shown once; keep it like a password)")
