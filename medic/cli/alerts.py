"""`medic alert …` and `medic notifications …` over HTTP (`MEDIC_URL`, `MEDIC_API_KEY`)."""

from __future__ import annotations

import json
from typing import Any

import click

from medic.cli.remote import Remote, _print, json_option

ALERT_COLUMNS = ["alert_id", "service_id", "active", "created_date", "acknowledged_by"]
DELIVERY_COLUMNS = ["notification_id", "kind", "service_id", "target", "status", "attempts"]


@click.group()
def alert() -> None:
    """Look at and acknowledge alerts (over HTTP)."""


@alert.command("list")
@click.option("--all", "everything", is_flag=True, help="Closed alerts too.")
@json_option
def alert_list(everything: bool, as_json: bool) -> None:
    params: dict[str, Any] = {"limit": 1000}
    if not everything:
        params["active"] = "true"
    items = Remote().call("GET", "/v2/alerts", params=params)["results"]["items"]
    _print(items, as_json, ALERT_COLUMNS)


@alert.command("ack")
@click.argument("alert_id", type=int)
def alert_ack(alert_id: int) -> None:
    """Acknowledge an open alert: someone is on it."""
    result = Remote().call("POST", f"/v2/alerts/{alert_id}/acknowledge")["results"]
    click.echo(f"alert {alert_id} acknowledged by {result['acknowledged_by']}")


@click.command()
@click.option("--service-id", type=int)
@click.option("--alert-id", type=int)
@click.option("--limit", type=int, default=20, show_default=True)
@json_option
def notifications(service_id: int | None, alert_id: int | None, limit: int, as_json: bool) -> None:
    """What Medic told whom: each notification's deliveries and attempts."""
    params = {
        k: v
        for k, v in {"service_id": service_id, "alert_id": alert_id, "limit": limit}.items()
        if v is not None
    }
    items = Remote().call("GET", "/v2/notifications", params=params)["results"]["items"]
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    rows = [
        {
            **n,
            "target": f"{d['target_kind']}:{d['target_name']}",
            "status": d["status"],
            "attempts": ", ".join(
                str(a["status_code"] or a["error"] or "?") for a in d["attempts"]
            ),
        }
        for n in items
        for d in n["deliveries"]
        or [{"target_kind": "-", "target_name": "-", "status": "-", "attempts": []}]
    ]
    _print(rows, False, DELIVERY_COLUMNS)
