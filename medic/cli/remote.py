"""Operator commands over HTTP (`MEDIC_URL`, `MEDIC_API_KEY`), the runbook's `medic-cli`."""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from urllib.parse import quote

import click
import httpx

from medic.core.durations import parse_duration


class Remote:
    def __init__(self) -> None:
        self.url = os.environ.get("MEDIC_URL", "http://localhost:8080").rstrip("/")
        key = os.environ.get("MEDIC_API_KEY")
        # The API audits what the CLI does as front door `cli`, not `api`.
        self.headers = {"X-Medic-Client": "cli"}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = httpx.request(
                method, self.url + path, headers=self.headers, timeout=15, **kwargs
            )
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach Medic at {self.url}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text}
        if response.status_code >= 400:
            message = body.get("message") if isinstance(body, dict) else None
            raise click.ClickException(f"{response.status_code}: {message or response.text}")
        return body

    def service_id(self, name: str) -> int:
        return self.call("GET", f"/service/{quote(name, safe='')}")["results"][0]["service_id"]


def _print(data: Any, as_json: bool, columns: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    rows = data if isinstance(data, list) else [data]
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        click.echo("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


SERVICE_COLUMNS = [
    "service_id",
    "heartbeat_name",
    "state",
    "muted",
    "team",
    "priority",
    "last_heartbeat_at",
    "next_due_at",
    "state_reason",
]
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group()
def service() -> None:
    """Look at, mute and tune services (over HTTP)."""


@service.command("list")
@click.option("--team")
@click.option("--state", type=click.Choice(["new", "up", "down"]))
@json_option
def service_list(team: str | None, state: str | None, as_json: bool) -> None:
    params = {k: v for k, v in {"team": team, "state": state, "limit": 1000}.items() if v}
    items = Remote().call("GET", "/v2/services", params=params)["results"]["items"]
    _print(items, as_json, SERVICE_COLUMNS)


@service.command("get")
@click.argument("name")
@json_option
def service_get(name: str, as_json: bool) -> None:
    remote = Remote()
    data = remote.call("GET", f"/v2/services/{remote.service_id(name)}")["results"]
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            click.echo(f"{key:>22}: {value}")


@service.command("mute")
@click.argument("name")
@click.option("--duration", help="e.g. 30m, 2h (default ALERT_AUTO_UNMUTE_HOURS).")
@click.option("--reason")
def service_mute(name: str, duration: str | None, reason: str | None) -> None:
    remote = Remote()
    body = {k: v for k, v in {"duration": duration, "reason": reason}.items() if v}
    data = remote.call("POST", f"/v2/services/{remote.service_id(name)}/mute", json=body)
    click.echo(f"muted {name} until {data['results']['muted_until']}")


@service.command("unmute")
@click.argument("name")
def service_unmute(name: str) -> None:
    remote = Remote()
    remote.call("POST", f"/v2/services/{remote.service_id(name)}/unmute")
    click.echo(f"unmuted {name}")


def _seconds(value: str | None, option: str) -> int | None:
    """`20m`, `1h30m` or a number of seconds, as the API takes it (whole seconds)."""
    if value is None:
        return None
    if value.strip().isdigit():
        return int(value)
    try:
        return int(parse_duration(value).total_seconds())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


@service.command("update")
@click.argument("name")
@click.option("--alert-after-failures", type=int, help="Alert at this many failures in a row.")
@click.option(
    "--recover-after-successes", type=int, help="Recover at this many heartbeats in a row."
)
@click.option(
    "--min-duration", help="A job run that completes sooner fails: seconds or e.g. '20m'."
)
@click.option("--max-beats", type=int, help="Window schedules: most heartbeats per window.")
@click.option("--start-grace", help="How late a job's STARTED may arrive: seconds or e.g. '5m'.")
@click.option(
    "--clear",
    "cleared",
    multiple=True,
    type=click.Choice(["min-duration", "max-beats", "start-grace"]),
    help="Remove a rule (repeatable).",
)
@click.option(
    "--depends-on",
    "depends_on",
    multiple=True,
    help="A service this one depends on (repeatable; replaces the list): while it is "
    "down, this one's alerts are recorded but not sent.",
)
@click.option("--no-dependencies", is_flag=True, help="Depend on no service.")
@json_option
def service_update(
    name: str,
    alert_after_failures: int | None,
    recover_after_successes: int | None,
    min_duration: str | None,
    max_beats: int | None,
    start_grace: str | None,
    cleared: tuple[str, ...],
    depends_on: tuple[str, ...],
    no_dependencies: bool,
    as_json: bool,
) -> None:
    """Change a service's detection rules and dependencies (PATCH /v2/services/{id})."""
    body: dict[str, Any] = {
        key: value
        for key, value in {
            "alert_after_failures": alert_after_failures,
            "recover_after_successes": recover_after_successes,
            "min_duration_seconds": _seconds(min_duration, "--min-duration"),
            "max_beats": max_beats,
            "start_grace_seconds": _seconds(start_grace, "--start-grace"),
        }.items()
        if value is not None
    }
    for rule in cleared:
        body[RULE_FIELDS[rule]] = None
    if depends_on or no_dependencies:
        body["depends_on"] = list(depends_on)
    if not body:
        raise click.UsageError("nothing to change: give at least one option")
    remote = Remote()
    data = remote.call("PATCH", f"/v2/services/{remote.service_id(name)}", json=body)["results"]
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        shown = ("heartbeat_name", *RULE_FIELDS.values(), *COUNT_FIELDS, "depends_on")
        for key in (*shown, "state_reason"):
            click.echo(f"{key:>24}: {data.get(key)}")


RULE_FIELDS = {
    "min-duration": "min_duration_seconds",
    "max-beats": "max_beats",
    "start-grace": "start_grace_seconds",
}
COUNT_FIELDS = ("alert_after_failures", "recover_after_successes")


@service.command("stats")
@click.argument("name")
@json_option
def service_stats(name: str, as_json: bool) -> None:
    """Job run durations of the newest 100 runs: count, avg, p50, p95, p99, last."""
    remote = Remote()
    data = remote.call("GET", f"/v2/services/{remote.service_id(name)}/stats")["results"]
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            click.echo(f"{key:>22}: {value}")


@service.command("history")
@click.argument("name")
@click.option("--limit", type=int, default=25, show_default=True)
@json_option
def service_history(name: str, limit: int, as_json: bool) -> None:
    """When the service went down or came back, and why; newest first."""
    remote = Remote()
    path = f"/v2/services/{remote.service_id(name)}/history"
    items = remote.call("GET", path, params={"limit": limit})["results"]["items"]
    _print(items, as_json, ["at", "from_state", "to_state", "reason", "alert_id"])


@click.group()
def heartbeat() -> None:
    """Read heartbeats (over HTTP)."""


@heartbeat.command("list")
@click.option("--name", required=True, help="heartbeat_name")
@click.option("--limit", type=int, default=25, show_default=True)
@json_option
def heartbeat_list(name: str, limit: int, as_json: bool) -> None:
    items = Remote().call("GET", "/v2/heartbeats", params={"heartbeat_name": name, "limit": limit})[
        "results"
    ]["items"]
    _print(items, as_json, ["heartbeat_id", "time", "status", "run_id"])


@click.command()
@json_option
def health(as_json: bool) -> None:
    """Medic's component health; exits 1 when unhealthy."""
    remote = Remote()
    try:
        response = httpx.get(remote.url + "/health", timeout=15)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach Medic at {remote.url}: {exc}") from None
    data = response.json()
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(f"medic: {data['status']}")
        for name, component in data["components"].items():
            click.echo(f"  {name:<10} {component['status']}")
    if response.status_code != 200:
        sys.exit(1)
