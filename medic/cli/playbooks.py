"""`medic playbook …`: playbook definitions over HTTP (`MEDIC_URL`, `MEDIC_API_KEY`).

`apply -f FILE` is safe to run from CI on every push: a new version is made only when
the playbook's content changed.
"""

from __future__ import annotations

import json
from typing import IO, Any
from urllib.parse import quote

import click

from medic.cli.remote import Remote, _print, json_option

PLAYBOOK_COLUMNS = ["name", "current_version", "enabled", "trigger", "approval", "steps"]


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
@json_option
def playbook_apply(source: IO[bytes], as_json: bool) -> None:
    """Create the playbook, or add a version if its content changed (else nothing)."""
    try:
        text = source.read().decode("utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{source.name} is not UTF-8 text") from None
    data = Remote().call("POST", "/v2/playbooks", json={"yaml": text})["results"]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    outcome = "created" if data["created"] else "updated" if data["changed"] else "unchanged"
    click.echo(f"{outcome} {data['name']} v{data['version']}")


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


def _describe(execution: dict[str, Any]) -> str:
    lines = [
        f"execution {execution['execution_id']}: {execution['playbook']}"
        f" v{execution['version']} is {execution['state']}"
    ]
    lines += [
        f"  {s['position'] + 1}. {s['name']}: {s['state']} {s['summary'] or ''}".rstrip()
        for s in execution["steps"]
    ]
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
    """Where an execution is: its state and each step's outcome."""
    result = Remote().call("GET", f"/v2/executions/{execution_id}")["results"]
    click.echo(json.dumps(result, indent=2) if as_json else _describe(result))


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
