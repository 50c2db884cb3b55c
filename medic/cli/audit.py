"""`medic audit …`: read and export the audit log over HTTP (an admin key)."""

from __future__ import annotations

import click
import httpx

from medic.cli.remote import Remote, _print, json_option

AUDIT_COLUMNS = ["audit_id", "at", "actor", "front_door", "action", "target_id", "outcome"]


def _filters(**values: str | None) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


filter_options = [
    click.option("--action", help="e.g. service.mute"),
    click.option("--actor", help="who, e.g. slack:U0123ABCD or a key's name"),
    click.option("--front-door", type=click.Choice(["api", "slack", "mcp", "cli", "system"])),
    click.option("--since", help="ISO 8601 with offset, e.g. 2026-11-01T00:00:00Z"),
    click.option("--until", help="ISO 8601 with offset (exclusive)"),
]


def with_filters(command: click.Command) -> click.Command:
    for option in reversed(filter_options):
        command = option(command)
    return command


@click.group()
def audit() -> None:
    """Who did what, through which front door."""


@audit.command("list")
@with_filters
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
def audit_list(limit: int, as_json: bool, **filters: str | None) -> None:
    params = {**_filters(**filters), "limit": str(limit)}
    items = Remote().call("GET", "/v2/audit", params=params)["results"]["items"]
    _print(items, as_json, AUDIT_COLUMNS)


@audit.command("export")
@with_filters
@click.option("--format", "file_format", type=click.Choice(["json", "csv"]), default="csv")
def audit_export(file_format: str, **filters: str | None) -> None:
    """Write the matching entries to standard output, oldest first."""
    remote = Remote()
    params = {**_filters(**filters), "format": file_format}
    try:
        response = httpx.request(
            "GET",
            remote.url + "/v2/audit/export",
            headers=remote.headers,
            params=params,
            timeout=120,
        )
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach Medic at {remote.url}: {exc}") from None
    if response.status_code >= 400:
        raise click.ClickException(f"{response.status_code}: {response.text}")
    click.echo(response.text, nl=False)
