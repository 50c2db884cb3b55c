"""`medic target …`: notification targets over HTTP (`MEDIC_URL`, `MEDIC_API_KEY`).

Config as one JSON object (`--config '{"url": "https://…"}'`) and/or repeated
`--set key=value`: `headers.Authorization=Bearer …` sets a nested key, a value that
starts with `[` or `{` is read as JSON, and a key set twice becomes a list
(`--set to=a@example.com --set to=b@example.com`).
"""

from __future__ import annotations

import json
from typing import Any

import click

from medic.cli.remote import Remote, _print, json_option
from medic.cli.teams import list_all, path, show

KINDS = (
    "slack",
    "pagerduty",
    "webhook",
    "email",
    "discord",
    "sms",
    "msteams",
    "opsgenie",
    "telegram",
    "ntfy",
    "google_chat",
    "mattermost",
)
TARGET_COLUMNS = ["name", "kind", "enabled", "config"]


def _value(text: str) -> Any:
    if text[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except ValueError:
            raise click.BadParameter(f"{text!r} is not valid JSON", param_hint="--set") from None
    return text


def build_config(config: str | None, settings: tuple[str, ...]) -> dict[str, Any] | None:
    """The config from --config and --set; None when neither was given."""
    if config is None and not settings:
        return None
    result: dict[str, Any] = {}
    if config is not None:
        try:
            result = json.loads(config)
        except ValueError:
            raise click.BadParameter("must be a JSON object", param_hint="--config") from None
        if not isinstance(result, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--config")
    seen: set[str] = set()
    for setting in settings:
        key, sep, text = setting.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{setting!r} is not key=value", param_hint="--set")
        parent, dot, leaf = key.strip().partition(".")
        place = result.setdefault(parent, {}) if dot else result
        if not isinstance(place, dict):
            raise click.BadParameter(f"{parent!r} is not an object", param_hint="--set")
        name = leaf if dot else parent
        value = _value(text)
        if key in seen:
            previous = place[name]
            place[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            place[name] = value
        seen.add(key)
    return result


config_options = [
    click.option("--config", help="The whole config as a JSON object."),
    click.option(
        "--set",
        "settings",
        multiple=True,
        help="key=value; repeat. headers.Name=value sets a nested key, a value starting "
        "with [ or { is JSON, a key given twice becomes a list.",
    ),
]


def with_config(command: Any) -> Any:
    for option in reversed(config_options):
        command = option(command)
    return command


def _row(target: dict[str, Any]) -> dict[str, Any]:
    return {**target, "config": json.dumps(target["config"], ensure_ascii=False)}


REPEAT_HELP = (
    "Send an open, unacknowledged alert again this often (e.g. 30m) until it is "
    "acknowledged, muted or resolved."
)


@click.group()
def target() -> None:
    """Notification targets: Slack, PagerDuty, webhooks, email, Discord, SMS, Teams,
    Opsgenie, Telegram, ntfy, Google Chat, Mattermost (over HTTP)."""


@target.command("list")
@json_option
def target_list(as_json: bool) -> None:
    """List targets (secrets masked)."""
    items = list_all("notification-targets")
    if as_json:
        click.echo(json.dumps(items, indent=2))
    else:
        _print([_row(t) for t in items], False, TARGET_COLUMNS)


@target.command("create")
@click.argument("name")
@click.option("--kind", type=click.Choice(KINDS), required=True)
@with_config
@click.option("--disabled", is_flag=True, help="Create it switched off.")
@click.option("--repeat-every", help=REPEAT_HELP)
@json_option
def target_create(
    name: str,
    kind: str,
    config: str | None,
    settings: tuple[str, ...],
    disabled: bool,
    repeat_every: str | None,
    as_json: bool,
) -> None:
    """Create a target, e.g. `medic target create hooks --kind webhook --set url=https://…`."""
    body: dict[str, Any] = {"name": name, "kind": kind, "enabled": not disabled}
    if repeat_every:
        body["repeat_every"] = repeat_every
    body["config"] = build_config(config, settings) or {}
    created = Remote().call("POST", path("notification-targets"), json=body)["results"]
    show(created, as_json, f"created {created['kind']} target {created['name']}")


@target.command("update")
@click.argument("name")
@click.option("--kind", type=click.Choice(KINDS), help="A new kind (needs a new config).")
@with_config
@click.option("--enable/--disable", "enabled", default=None, help="Switch it on or off.")
@click.option("--repeat-every", help=REPEAT_HELP + " An empty value stops repeats.")
@json_option
def target_update(
    name: str,
    kind: str | None,
    config: str | None,
    settings: tuple[str, ...],
    enabled: bool | None,
    repeat_every: str | None,
    as_json: bool,
) -> None:
    """Change a target; a new config replaces the old one whole."""
    body: dict[str, Any] = {"kind": kind, "config": build_config(config, settings)}
    body["enabled"] = enabled
    body = {k: v for k, v in body.items() if v is not None}
    if repeat_every is not None:
        body["repeat_every"] = repeat_every or None
    if not body:
        raise click.UsageError(
            "nothing to change: give --config, --set, --kind, --enable or --repeat-every"
        )
    updated = Remote().call("PATCH", path("notification-targets", name), json=body)["results"]
    show(updated, as_json, f"updated target {updated['name']}")


@target.command("delete")
@click.argument("name")
def target_delete(name: str) -> None:
    """Delete a target (refused while a routing policy names it)."""
    Remote().call("DELETE", path("notification-targets", name))
    click.echo(f"deleted target {name}")
