"""`medic playbook …`: playbook definitions over HTTP (`MEDIC_URL`, `MEDIC_API_KEY`).

`apply -f FILE` is safe to run from CI on every push: a new version is made only when
the playbook's content changed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import quote

import click

from medic.cli.remote import Remote, _print, json_option
from medic.core.durations import parse_duration

PLAYBOOK_COLUMNS = ["name", "current_version", "enabled", "trigger", "approval", "steps"]
EXECUTION_COLUMNS = [
    "execution_id",
    "playbook",
    "version",
    "service_id",
    "state",
    "requested_by",
    "created_at",
]
STATES = ["pending_approval", "running", "waiting", "completed", "failed", "cancelled"]


def _row(playbook: dict[str, Any]) -> dict[str, Any]:
    trigger = playbook.get("trigger")
    shown = (
        f"{trigger['service_pattern']} after {trigger['consecutive_failures']}"
        if trigger
        else "on demand"
    )
    return {**playbook, "trigger": shown}


@click.group()
def playbook() -> None:
    """Playbook definitions: apply YAML, list, show (over HTTP)."""


@playbook.command("apply")
@click.option(
    "-f",
    "--file",
    "source",
    required=True,
    type=click.File("rb"),
    help="The playbook's YAML file ('-' for stdin).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse the playbook if a step uses a secret not set or a script not registered "
    "(without it: applied, with a warning naming each line).",
)
@json_option
def playbook_apply(source: IO[bytes], strict: bool, as_json: bool) -> None:
    """Create the playbook, or add a version if its content changed (else nothing)."""
    try:
        text = source.read().decode("utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{source.name} is not UTF-8 text") from None
    params = {"strict": "true"} if strict else None
    data = Remote().call("POST", "/v2/playbooks", json={"yaml": text}, params=params)["results"]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    outcome = "created" if data["created"] else "updated" if data["changed"] else "unchanged"
    click.echo(f"{outcome} {data['name']} v{data['version']}")
    for warning in data.get("warnings", []):
        click.echo(f"warning: {warning}", err=True)


@playbook.command("list")
@json_option
def playbook_list(as_json: bool) -> None:
    """Every playbook: its current version, trigger and approval."""
    items = Remote().call("GET", "/v2/playbooks", params={"limit": 1000})["results"]["items"]
    if as_json:
        click.echo(json.dumps(items, indent=2))
    else:
        _print([_row(p) for p in items], False, PLAYBOOK_COLUMNS)


@playbook.command("show")
@click.argument("name")
@click.option("--version", "version", type=click.IntRange(min=1), help="An older version.")
@json_option
def playbook_show(name: str, version: int | None, as_json: bool) -> None:
    """Print the playbook's YAML as applied (the current version unless --version)."""
    path = f"/v2/playbooks/{quote(name, safe='')}"
    if version is not None:
        path += f"/versions/{version}"
    data = Remote().call("GET", path)["results"]
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(data["source_yaml"], nl=not data["source_yaml"].endswith("\n"))


@playbook.command("restore")
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@json_option
def playbook_restore(name: str, version: int, as_json: bool) -> None:
    """Make VERSION current again: its YAML is applied as a new version (admin)."""
    path = f"/v2/playbooks/{quote(name, safe='')}/versions/{version}/restore"
    body = Remote().call("POST", path)
    if as_json:
        click.echo(json.dumps(body["results"], indent=2))
    else:
        click.echo(body["message"])


def _describe(execution: dict[str, Any]) -> str:
    lines = [
        f"execution {execution['execution_id']}: {execution['playbook']}"
        f" v{execution['version']} is {execution['state']}"
    ]
    for step in execution["steps"]:
        outcome = f"{step['state']} {step['summary'] or ''}".rstrip()
        lines.append(f"  {step['position'] + 1}. {step['name']}: {outcome}")
        if step.get("output"):
            lines += [f"     | {line}" for line in step["output"].rstrip("\n").splitlines()]
            if step.get("output_truncated"):
                lines.append("     | … (cut; the rest is kept on the server)")
    if execution.get("error"):
        lines.append(f"  error: {execution['error']}")
    return "\n".join(lines)


@playbook.command("run")
@click.argument("name")
@click.option("--service", help="The service to act on (heartbeat name).")
@click.option("--reason", help="Why, for the audit log.")
@json_option
def playbook_run(name: str, service: str | None, reason: str | None, as_json: bool) -> None:
    """Start NAME's current version; it runs on the workers (see `playbook execution`)."""
    body = {k: v for k, v in {"service": service, "reason": reason}.items() if v}
    answer = Remote().call("POST", f"/v2/playbooks/{quote(name, safe='')}/execute", json=body)
    _print_answer(answer, as_json)


@playbook.command("execution")
@click.argument("execution_id", type=int)
@json_option
def playbook_execution(execution_id: int, as_json: bool) -> None:
    """Where an execution is: its state, each step's outcome and output."""
    result = Remote().call("GET", f"/v2/executions/{execution_id}")["results"]
    click.echo(json.dumps(result, indent=2) if as_json else _describe(result))


def _instant(value: str | None) -> str | None:
    """ISO 8601 as given, or a duration (`24h`, `7d`) as that long ago."""
    if not value:
        return None
    try:
        ago = parse_duration(value)
    except ValueError:
        return value  # the server names the field if this is no instant either
    return (datetime.now(UTC) - ago).isoformat()


@playbook.command("executions")
@click.option("--playbook", "playbook_name", help="Only this playbook's runs.")
@click.option("--service", help="Only runs on this service (heartbeat name or id).")
@click.option("--state", type=click.Choice(STATES), help="Only runs in this state.")
@click.option("--requester", help="Only runs requested by this key's name, slack:<user>, medic.")
@click.option("--since", help="Requested since: ISO 8601 with offset, or a duration ago (24h).")
@click.option("--until", help="Requested before: ISO 8601 with offset, or a duration ago.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0)
@json_option
def playbook_executions(
    playbook_name: str | None,
    service: str | None,
    state: str | None,
    requester: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """Executions, newest first: find one's id for `playbook execution ID`."""
    params = {
        "playbook": playbook_name,
        "service": service,
        "state": state,
        "requester": requester,
        "since": _instant(since),
        "until": _instant(until),
        "limit": str(limit),
        "offset": str(offset),
    }
    answer = Remote().call(
        "GET", "/v2/executions", params={k: v for k, v in params.items() if v is not None}
    )["results"]
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    _print(answer["items"], False, EXECUTION_COLUMNS)
    shown = len(answer["items"])
    if answer["total"] > offset + shown:
        click.echo(f"({shown} of {answer['total']}; next page: --offset {offset + shown})")


def _print_answer(answer: dict[str, Any], as_json: bool) -> None:
    """An execution the server just started or decided: its message, then where it is."""
    if as_json:
        click.echo(json.dumps(answer["results"], indent=2))
    else:
        click.echo(f"{answer['message']}\n{_describe(answer['results'])}")


def _decide(execution_id: int, verb: str, as_json: bool) -> None:
    _print_answer(Remote().call("POST", f"/v2/executions/{execution_id}/{verb}"), as_json)


@playbook.command("approve")
@click.argument("execution_id", type=int)
@json_option
def playbook_approve(execution_id: int, as_json: bool) -> None:
    """Approve a pending execution (an admin key; never the one that requested it)."""
    _decide(execution_id, "approve", as_json)


@playbook.command("decline")
@click.argument("execution_id", type=int)
@json_option
def playbook_decline(execution_id: int, as_json: bool) -> None:
    """Decline a pending execution: it is cancelled and never runs."""
    _decide(execution_id, "decline", as_json)
