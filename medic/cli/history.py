"""`medic history …`: the configuration history over HTTP, and restoring from it."""

from __future__ import annotations

import json

import click

from medic.cli.remote import Remote, _print, json_option

KINDS = ["service", "team", "routing_policy", "notification_target", "maintenance_window"]
HISTORY_COLUMNS = ["change_id", "at", "actor", "front_door", "kind", "key", "action", "restored"]


def _row(change: dict[str, object]) -> dict[str, object]:
    restored = change.get("restored_from")
    return {**change, "restored": f"from {restored}" if restored else ""}


@click.group()
def history() -> None:
    """Every change to services, teams, routing policies, targets and maintenance
    windows, before and after; restore an object to how it was before a change."""


@history.command("list")
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--key", help="A service's or window's id; a team's, policy's or target's name.")
@click.option("--action", type=click.Choice(["create", "update", "delete"]))
@click.option("--actor", help="Who made the change (a key's or Slack user's name).")
@click.option("--since", help="ISO 8601 with offset, e.g. 2026-11-01T00:00:00Z")
@click.option("--until", help="ISO 8601 with offset (exclusive)")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@json_option
def history_list(limit: int, as_json: bool, **filters: str | None) -> None:
    """Configuration changes, newest first."""
    params = {name: value for name, value in filters.items() if value}
    params["limit"] = str(limit)
    items = Remote().call("GET", "/v2/config-history", params=params)["results"]["items"]
    if as_json:
        click.echo(json.dumps(items, indent=2))
    else:
        _print([_row(change) for change in items], False, HISTORY_COLUMNS)


@history.command("show")
@click.argument("change_id", type=click.IntRange(min=1))
def history_show(change_id: int) -> None:
    """One change with the object's configuration before and after (JSON)."""
    change = Remote().call("GET", f"/v2/config-history/{change_id}")["results"]
    click.echo(json.dumps(change, indent=2))


@history.command("restore")
@click.argument("change_id", type=click.IntRange(min=1))
@json_option
def history_restore(change_id: int, as_json: bool) -> None:
    """Make the object look as it did before CHANGE_ID (itself recorded as a change)."""
    body = Remote().call("POST", f"/v2/config-history/{change_id}/restore")
    if as_json:
        click.echo(json.dumps(body["results"], indent=2))
    else:
        click.echo(body["message"])
