"""`medic maintenance …`: maintenance windows over HTTP (`MEDIC_URL`, `MEDIC_API_KEY`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from medic.cli.remote import Remote, _print, json_option

WINDOW_COLUMNS = [
    "window_id",
    "name",
    "services",
    "schedule",
    "open_now",
    "next_transition_at",
]


def _row(window: dict[str, Any]) -> dict[str, Any]:
    services = window.get("service_ids")
    if window.get("recurring"):
        schedule = (
            f"{window['cron_expression']} {window['timezone']} for {window['duration_minutes']}m"
        )
    else:
        schedule = f"{window['starts_at']} .. {window['ends_at']}"
    return {
        **window,
        "services": "all" if services is None else ",".join(str(s) for s in services),
        "schedule": schedule,
    }


def _instant(value: str | None, option: str, timezone: str | None) -> str | None:
    """ISO 8601; a time without an offset is read in --timezone (UTC if none is given)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "use an ISO 8601 time, e.g. 2026-12-01T02:00", param_hint=option
        ) from None
    if parsed.tzinfo is None:
        try:
            zone = ZoneInfo(timezone) if timezone else UTC
        except (ZoneInfoNotFoundError, ValueError):
            raise click.BadParameter(
                f"unknown timezone {timezone!r}", param_hint="--timezone"
            ) from None
        parsed = parsed.replace(tzinfo=zone)
    return parsed.isoformat()


@click.group()
def maintenance() -> None:
    """Maintenance windows: silence notifications while services are worked on (over HTTP)."""


@maintenance.command("list")
@click.option("--active", is_flag=True, help="Only windows open now.")
@json_option
def maintenance_list(active: bool, as_json: bool) -> None:
    """List windows, whether each is open now and when it next opens or closes."""
    params: dict[str, Any] = {"limit": 1000}
    if active:
        params["active"] = "true"
    items = Remote().call("GET", "/v2/maintenance-windows", params=params)["results"]["items"]
    if as_json:
        click.echo(json.dumps(items, indent=2))
    else:
        _print([_row(w) for w in items], False, WINDOW_COLUMNS)


@maintenance.command("create")
@click.option("--name", required=True, help="What the maintenance is.")
@click.option(
    "--service",
    "services",
    multiple=True,
    help="A heartbeat name; repeat for several. Default: every service.",
)
@click.option("--starts", help="One-time: ISO 8601 start.")
@click.option("--ends", help="One-time: ISO 8601 end.")
@click.option("--cron", help="Recurring: five-field cron, e.g. '0 2 * * 0'.")
@click.option(
    "--duration", help="How long: each occurrence (with --cron), or from --starts (or now)."
)
@click.option("--timezone", help="IANA name for --cron and offset-less times.")
@click.option("--reason")
@json_option
def maintenance_create(
    name: str,
    services: tuple[str, ...],
    starts: str | None,
    ends: str | None,
    cron: str | None,
    duration: str | None,
    timezone: str | None,
    reason: str | None,
    as_json: bool,
) -> None:
    """Create a one-time (--starts/--ends) or recurring (--cron/--duration) window."""
    remote = Remote()
    body: dict[str, Any] = {
        "name": name,
        "reason": reason,
        "service_ids": [remote.service_id(s) for s in services] if services else None,
        "starts_at": _instant(starts, "--starts", timezone),
        "ends_at": _instant(ends, "--ends", timezone),
        "cron_expression": cron,
        "duration": duration,
        "timezone": timezone,
    }
    body = {k: v for k, v in body.items() if v is not None}
    window = remote.call("POST", "/v2/maintenance-windows", json=body)["results"]
    if as_json:
        click.echo(json.dumps(window, indent=2))
    else:
        click.echo(
            f"created maintenance window {window['window_id']} ({window['name']}); "
            f"{'open now' if window['open_now'] else 'not open now'}, "
            f"next change at {window['next_transition_at'] or 'never'}"
        )


@maintenance.command("delete")
@click.argument("window_id", metavar="ID", type=int)
def maintenance_delete(window_id: int) -> None:
    """Delete a window; if it was in progress, its end is announced."""
    data = Remote().call("DELETE", f"/v2/maintenance-windows/{window_id}")
    click.echo(data.get("message") or f"deleted maintenance window {window_id}")
