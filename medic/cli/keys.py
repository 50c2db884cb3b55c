"""`medic keys …`: manage API keys on the server's own database (an operator's shell is
trusted like an admin key). New keys print alone on stdout's last line, for scripts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from medic.core.durations import parse_duration
from medic.core.scopes import SCOPES
from medic.ops import keys as key_ops
from medic.ops.actor import cli_operator
from medic.ops.errors import MedicError
from medic.runtime import Medic


def _medic() -> Medic:
    from medic.cli.main import settings_or_exit

    return Medic(settings_or_exit())


def _expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.now(UTC) + parse_duration(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use a duration like 90d or an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
def create(
    name: str,
    scopes: tuple[str, ...],
    expires: str | None,
    heartbeat_rate_limit: int | None,
    management_rate_limit: int | None,
) -> None:
    """Create a key; it is printed once, alone on the last line."""
    medic = _medic()
    try:
        issued = key_ops.create_key(
            medic.db,
            cli_operator(),
            name,
            list(scopes),
            _expiry(expires),
            heartbeat_rate_limit,
            management_rate_limit,
        )
    except MedicError as exc:
        _fail(exc)
    click.echo(
        f"created key {name!r} with scopes {', '.join(issued.key.scopes)}; it is shown only now:",
        err=True,
    )
    click.echo(issued.plaintext)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json: bool) -> None:
    """List keys (never their secrets)."""
    rows = key_ops.list_keys(_medic().db, cli_operator())
    if as_json:
        click.echo(
            json.dumps([r.model_dump(exclude={"key_hash"}, mode="json") for r in rows], indent=2)
        )
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
        issued = key_ops.rotate_key(medic.db, medic.key_cache, cli_operator(), _reference(key))
    except MedicError as exc:
        _fail(exc)
    click.echo(f"rotated key {issued.key.name!r}; the new secret is shown only now:", err=True)
    click.echo(issued.plaintext)


@keys.command("revoke")
@click.argument("key", metavar="NAME_OR_ID")
def revoke(key: str) -> None:
    """Revoke a key for good."""
    medic = _medic()
    try:
        row = key_ops.revoke_key(medic.db, medic.key_cache, cli_operator(), _reference(key))
    except MedicError as exc:
        _fail(exc)
    click.echo(f"revoked key {row.name!r}")
