"""`medic secret …`: write-only playbook secrets over HTTP (an admin key)."""

from __future__ import annotations

import sys
from urllib.parse import quote

import click

from medic.cli.remote import Remote, _print, json_option


@click.group()
def secret() -> None:
    """Playbook secrets: set, list (names only), delete."""


@secret.command("set")
@click.argument("name")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the value from standard input.")
def secret_set(name: str, from_stdin: bool) -> None:
    """Set NAME; the value is prompted for (hidden) so it stays out of shell history."""
    if from_stdin:
        value = sys.stdin.read().rstrip("\n")
    else:
        value = click.prompt("value", hide_input=True, confirmation_prompt=True)
    answer = Remote().call("PUT", f"/v2/secrets/{quote(name, safe='')}", json={"value": value})
    click.echo(f"{answer['message']}: {name}")


@secret.command("list")
@json_option
def secret_list(as_json: bool) -> None:
    items = Remote().call("GET", "/v2/secrets")["results"]["items"]
    _print(items, as_json, ["name", "created_by", "updated_at"])


@secret.command("delete")
@click.argument("name")
def secret_delete(name: str) -> None:
    Remote().call("DELETE", f"/v2/secrets/{quote(name, safe='')}")
    click.echo(f"secret deleted: {name}")
