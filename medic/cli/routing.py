"""`medic routing …` and `medic hours …`: routing policies, a preview of where a
service's alerts go, and working-hours schedules, over HTTP (`MEDIC_URL`,
`MEDIC_API_KEY`).

A rule is a JSON object: `{"targets": ["pager"], "priorities": ["p1", "p2"],
"hours": "after", "working_hours": "business"}`; every key but `targets` is optional.
"""

from __future__ import annotations

import json
from typing import Any

import click

from medic.cli.maintenance import _instant
from medic.cli.remote import Remote, _print, json_option
from medic.cli.teams import list_all, path, show

POLICY_COLUMNS = ["name", "mode", "rules"]
HOURS_COLUMNS = ["name", "timezone", "days", "hours", "holidays"]


def _rules(values: tuple[str, ...]) -> list[dict[str, Any]] | None:
    if not values:
        return None
    rules = []
    for value in values:
        try:
            rule = json.loads(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not JSON", param_hint="--rule") from None
        if not isinstance(rule, dict):
            raise click.BadParameter(f"{value!r} is not a JSON object", param_hint="--rule")
        rules.append(rule)
    return rules


def describe_rule(rule: dict[str, Any]) -> str:
    """`p1,p2 after business -> pager, slack`; `any` when it has no condition."""
    conditions = []
    if rule.get("priorities"):
        conditions.append(",".join(rule["priorities"]))
    if rule.get("hours"):
        conditions.append(f"{rule['hours']} {rule.get('working_hours')}")
    return f"{' '.join(conditions) or 'any'} -> {', '.join(rule['targets'])}"


def _policy_row(policy: dict[str, Any]) -> dict[str, Any]:
    return {**policy, "rules": "; ".join(describe_rule(r) for r in policy["rules"])}


rule_option = click.option(
    "--rule", "rules", multiple=True, help="A rule as a JSON object; repeat, in order."
)
mode_option = click.option(
    "--mode",
    type=click.Choice(["all", "first_success"]),
    help="all: every target; first_success: in order until one accepts.",
)


@click.group()
def routing() -> None:
    """Routing policies: which targets alerts go to, by priority and working hours."""


@routing.command("list")
@json_option
def routing_list(as_json: bool) -> None:
    items = list_all("routing-policies")
    if as_json:
        click.echo(json.dumps(items, indent=2))
    else:
        _print([_policy_row(p) for p in items], False, POLICY_COLUMNS)


@routing.command("create")
@click.argument("name")
@mode_option
@rule_option
@json_option
def routing_create(name: str, mode: str | None, rules: tuple[str, ...], as_json: bool) -> None:
    """Create a policy; name it `default` to route every service that names none."""
    body: dict[str, Any] = {"name": name, "mode": mode or "all", "rules": _rules(rules) or []}
    created = Remote().call("POST", path("routing-policies"), json=body)["results"]
    show(created, as_json, f"created routing policy {created['name']} ({created['mode']})")


@routing.command("update")
@click.argument("name")
@mode_option
@rule_option
@json_option
def routing_update(name: str, mode: str | None, rules: tuple[str, ...], as_json: bool) -> None:
    """Change a policy's mode, or replace its rules (give them all)."""
    body = {k: v for k, v in {"mode": mode, "rules": _rules(rules)}.items() if v is not None}
    if not body:
        raise click.UsageError("nothing to change: give --mode or --rule")
    updated = Remote().call("PATCH", path("routing-policies", name), json=body)["results"]
    show(updated, as_json, f"updated routing policy {updated['name']}")


@routing.command("delete")
@click.argument("name")
def routing_delete(name: str) -> None:
    """Delete a policy (refused while services name it)."""
    Remote().call("DELETE", path("routing-policies", name))
    click.echo(f"deleted routing policy {name}")


@routing.command("preview")
@click.argument("service")
@click.option("--at", help="ISO 8601 instant (default now); no offset: read in --timezone.")
@click.option("--timezone", help="IANA name for an --at without an offset (default UTC).")
@json_option
def routing_preview(service: str, at: str | None, timezone: str | None, as_json: bool) -> None:
    """Where SERVICE's alerts would go at --at: the policy, the mode and the targets."""
    remote = Remote()
    params = {"at": _instant(at, "--at", timezone)} if at else {}
    route = f"/v2/services/{remote.service_id(service)}/routing"
    data = remote.call("GET", route, params=params)["results"]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    policy = data["policy"] or "(none)"
    click.echo(f"{data['heartbeat_name']} ({data['priority']}) at {data['at']}")
    click.echo(f"  policy:  {policy} [{data['source']}], mode {data['mode']}")
    click.echo(f"  targets: {', '.join(data['targets']) or '(none)'}")
    if data["skipped"]:
        click.echo(f"  skipped: {', '.join(data['skipped'])} (disabled or unknown)")
    if data.get("note"):
        click.echo(f"  note:    {data['note']}")


def _hours_row(hours: dict[str, Any]) -> dict[str, Any]:
    holidays = hours["holidays_country"] or "-"
    if hours["holidays_subdivision"]:
        holidays += f"-{hours['holidays_subdivision']}"
    overnight = " (overnight)" if hours["overnight"] else ""
    return {
        **hours,
        "days": ",".join(hours["days"]),
        "hours": f"{hours['start']}-{hours['end']}{overnight}",
        "holidays": holidays,
    }


@click.group()
def hours() -> None:
    """Working hours: schedules routing rules use for during- and after-hours alerts."""


@hours.command("list")
@json_option
def hours_list(as_json: bool) -> None:
    items = list_all("working-hours")
    if as_json:
        click.echo(json.dumps(items, indent=2))
    else:
        _print([_hours_row(h) for h in items], False, HOURS_COLUMNS)


@hours.command("create")
@click.argument("name")
@click.option("--timezone", required=True, help="IANA name, e.g. America/New_York.")
@click.option("--days", required=True, help="e.g. mon-fri or mon,wed,fri.")
@click.option("--start", required=True, help="HH:MM local time.")
@click.option("--end", required=True, help="HH:MM; not after --start means overnight.")
@click.option("--holidays", "country", help="Holiday calendar country code, e.g. US.")
@click.option("--subdivision", help="Holiday calendar subdivision, e.g. CA.")
@json_option
def hours_create(
    name: str,
    timezone: str,
    days: str,
    start: str,
    end: str,
    country: str | None,
    subdivision: str | None,
    as_json: bool,
) -> None:
    """Create a schedule, e.g. `medic hours create business --timezone America/New_York
    --days mon-fri --start 09:00 --end 18:00 --holidays US`."""
    body: dict[str, Any] = {
        "name": name,
        "timezone": timezone,
        "days": days,
        "start": start,
        "end": end,
        "holidays_country": country,
        "holidays_subdivision": subdivision,
    }
    created = Remote().call("POST", path("working-hours"), json=body)["results"]
    row = _hours_row(created)
    show(created, as_json, f"created working hours {created['name']}: {row['days']} {row['hours']}")


@hours.command("delete")
@click.argument("name")
def hours_delete(name: str) -> None:
    """Delete a schedule (refused while a routing policy names it)."""
    Remote().call("DELETE", path("working-hours", name))
    click.echo(f"deleted working hours {name}")
