"""`medic keys …`: manage API keys on the server's own database (an operator's shell is
trusted like an admin key). New keys print alone on stdout's last line, for scripts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from medic.core.scopes import SCOPES
from medic.ops import keys as key_ops
from medic.ops.actor import cli_operator
from medic.ops.errors import MedicError
from medic.ops.keys import CreateKey, ListKeys, RevokeKey, RotateKey
from medic.process import MedicProcess


def _medic() -> MedicProcess:
    from medic.cli.settings import settings_or_exit

    return MedicProcess(settings_or_exit())


def _expiry(value: str | None) -> dict[str, Any]:
    """`--expires`: an ISO 8601 time (UTC unless it says otherwise), else a duration
    from now, which the command parses."""
    if value is None:
        return {}
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return {"expires_in": value}
    return {"expires_at": parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)}


def _reference(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _fail(exc: MedicError) -> None:
    raise click.ClickException(exc.message)


@click.group()
def keys() -> None:
    """Create, list, rotate and revoke API keys."""


@keys.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(SCOPES),
    default=["read"],
    show_default=True,
    help="Repeat for several scopes.",
)
@click.option("--expires", help="Duration (90d) or ISO 8601 time.")
@click.option("--heartbeat-rate-limit", type=int, help="Heartbeats per minute for this key.")
@click.option("--management-rate-limit", type=int, help="Other requests per minute for this key.")
@click.option("--host", help="With --scope agent: the host this agent key polls for.")
def create(
    name: str,
    scopes: tuple[str, ...],
    expires: str | None,
    heartbeat_rate_limit: int | None,
    management_rate_limit: int | None,
    host: str | None,
) -> None:
    """Create a key; it is printed once, alone on the last line."""
    medic = _medic()
    try:
        command = CreateKey.of(
            name=name,
            scopes=list(scopes),
            heartbeat_rate_limit=heartbeat_rate_limit,
            management_rate_limit=management_rate_limit,
            host=host,
            **_expiry(expires),
        )
        issued = key_ops.create_key(medic.context(cli_operator()), command)
    except MedicError as exc:
        _fail(exc)
    click.echo(
        f"created key {name!r} with scopes {', '.join(issued.scopes)}; it is shown only now:",
        err=True,
    )
    click.echo(issued.key)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json: bool) -> None:
    """List keys (never their secrets)."""
    rows = key_ops.list_keys(_medic().context(cli_operator()), ListKeys.of())
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    click.echo(f"{'ID':>4}  {'NAME':<24} {'SCOPES':<18} {'EXPIRES':<26} STATE")
    for row in rows:
        state = "revoked" if row.revoked_at else "active"
        expires = row.expires_at.isoformat() if row.expires_at else "never"
        click.echo(
            f"{row.api_key_id:>4}  {row.name:<24} {','.join(row.scopes):<18} {expires:<26} {state}"
        )


@keys.command("rotate")
@click.argument("key", metavar="NAME_OR_ID")
def rotate(key: str) -> None:
    """Give a key a new secret (printed once); the old one stops working."""
    medic = _medic()
    try:
        command = RotateKey.of(key=_reference(key))
        issued = key_ops.rotate_key(medic.context(cli_operator()), command)
    except MedicError as exc:
        _fail(exc)
    click.echo(f"rotated key {issued.name!r}; the new secret is shown only now:", err=True)
    click.echo(issued.key)


@keys.command("revoke")
@click.argument("key", metavar="NAME_OR_ID")
def revoke(key: str) -> None:
    """Revoke a key for good."""
    medic = _medic()
    try:
        row = key_ops.revoke_key(medic.context(cli_operator()), RevokeKey.of(key=_reference(key)))
    except MedicError as exc:
        _fail(exc)
    click.echo(f"revoked key {row.name!r}")
