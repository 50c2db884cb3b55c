"""`medic agent …`: enroll, list and revoke hosts' agents over HTTP (MEDIC_URL,
MEDIC_API_KEY; an admin key to enroll or revoke, a read key to list)."""

from __future__ import annotations

from urllib.parse import quote

import click

from medic.cli.remote import Remote, _print, json_option

COLUMNS = ["host", "service", "service_state", "version", "last_contact_at", "revoked_at"]


@click.group()
def agent() -> None:
    """The medic-agent on managed hosts: enroll (add), list, revoke."""


@agent.command("add")
@click.argument("host")
@click.option("--team", help="The team told when the agent stops polling.")
@click.option(
    "--alert-interval", type=int, default=2, show_default=True, help="Minutes without a poll."
)
def agent_add(host: str, team: str | None, alert_interval: int) -> None:
    """Enroll HOST's agent; its key is printed once, alone on the last line."""
    body: dict[str, object] = {"host": host, "alert_interval": alert_interval}
    if team:
        body["team"] = team
    enrolled = Remote().call("POST", "/v2/agents", json=body)["results"]
    click.echo(
        f"agent enrolled for {enrolled['agent']['host']} (service {enrolled['agent']['service']});"
        " put this key in /etc/medic-agent/key, it is shown only now:",
        err=True,
    )
    click.echo(enrolled["key"])


@agent.command("list")
@json_option
def agent_list(as_json: bool) -> None:
    """Agents and their last contact."""
    _print(Remote().call("GET", "/v2/agents")["results"]["items"], as_json, COLUMNS)


@agent.command("revoke")
@click.argument("host")
def agent_revoke(host: str) -> None:
    """Revoke HOST's agent: its key stops working and its queued jobs are cancelled."""
    Remote().call("DELETE", f"/v2/agents/{quote(host, safe='')}")
    click.echo(f"agent revoked: {host}")
