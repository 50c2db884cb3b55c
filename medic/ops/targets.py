"""Notification targets (SRE-9, SRE-10): a Slack channel, a PagerDuty service, a
webhook, email recipients, a Discord channel or one of the channels of
docs/channels.md, by name, for routing policies to use.

Config is checked per kind when written (medic.ops.target_config) and secrets in it
are masked in every view and audit entry. A target a policy names cannot be deleted
(disable it instead: `enabled: false` makes the delivery engine skip it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlmodel import Session, col, select

from medic.core.nagging import clean_repeat
from medic.models import NotificationTarget, RoutingPolicy
from medic.models.columns import utcnow
from medic.ops import config_history
from medic.ops.errors import Conflict, InvalidInput
from medic.ops.named import Name, ensure_new, find, insert, names_list
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page
from medic.ops.target_config import VALIDATORS, mask_config, validate_config

Kind = Literal[
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
]
WHAT = "notification target"
REPEAT_EVERY = (
    "send an open, unacknowledged alert to this target again this often (e.g. 30m) until "
    "it is acknowledged, muted or resolved; a routing rule's repeat_every wins"
)
# Pagers escalate on their own (their escalation policies); a repeat would do nothing.
PAGER_KINDS = ("pagerduty", "opsgenie")


def _refuse_pager_repeats(kind: str, repeat_every: str | None) -> None:
    if repeat_every is not None and kind in PAGER_KINDS:
        raise ValueError(
            f"repeat_every: a {kind} target re-notifies through its own escalation policy; "
            "leave repeat_every out"
        )


class CreateTarget(Command):
    """A new target. Config per kind: slack `{channel?}`; pagerduty `{routing_key?}`
    (default PAGERDUTY_ROUTING_KEY); webhook `{url, headers?, method?}`; email `{to}`;
    discord `{url, username?}`; sms `{account_sid, auth_token, from, to}`; msteams
    `{url}`; opsgenie `{api_key, region?, tags?}`; telegram `{bot_token, chat_id}`; ntfy
    `{topic, server?, token?}`; google_chat `{url}`; mattermost `{url, username?,
    channel?}` (docs/channels.md)."""

    name: Name = Field(max_length=255)
    kind: Kind
    config: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    repeat_every: str | None = Field(default=None, max_length=16, description=REPEAT_EVERY)

    _repeat_every = field_validator("repeat_every")(clean_repeat)

    @model_validator(mode="after")
    def _repeat_kind(self) -> CreateTarget:
        _refuse_pager_repeats(self.kind, self.repeat_every)
        return self

    @model_validator(mode="before")
    @classmethod
    def _config(cls, data: Any) -> Any:
        """The config checked for its kind (medic.ops.target_config) and stored normalised;
        an unknown kind or a config that is not an object is left to the fields' checks."""
        if isinstance(data, dict) and isinstance(data.get("kind"), str):
            config = data.get("config", {})
            if data["kind"] in VALIDATORS and isinstance(config, dict):
                return {**data, "config": validate_config(data["kind"], config)}
        return data

    def audit_target(self) -> tuple[str | None, object]:
        return "notification_target", self.name


config_history.track("notification_target", CreateTarget)


class TargetChanges(BaseModel):
    """Fields left out stay. A new `config` replaces the old one whole (secrets
    included: a masked value cannot be sent back); a new `kind` needs a new config."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Kind | None = None
    config: dict[str, Any] | None = None
    enabled: bool | None = None
    repeat_every: str | None = Field(
        default=None, max_length=16, description=REPEAT_EVERY + "; null: no repeats"
    )

    _repeat_every = field_validator("repeat_every")(clean_repeat)


class TargetView(BaseModel):
    target_id: int
    name: str
    kind: str
    config: dict[str, Any] = Field(description="secrets masked")
    enabled: bool
    repeat_every: str | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, target: NotificationTarget) -> TargetView:
        data = target.model_dump()
        data["config"] = mask_config(target.kind, target.config)
        return cls.model_validate(data)


def policies_naming(session: Session, field: str, name: str) -> list[str]:
    """Policies with a rule whose `field` (targets, working_hours) names `name`."""
    names = []
    for policy in session.exec(select(RoutingPolicy).order_by(col(RoutingPolicy.name))):
        for rule in policy.rules:
            value = rule.get(field)
            if value == name or (isinstance(value, list) and name in value):
                names.append(policy.name)
                break
    return names


class TargetCommand(Command):
    """A command about one notification target, by its exact name."""

    name: str

    def audit_target(self) -> tuple[str | None, object]:
        return "notification_target", self.name


class UpdateTarget(TargetCommand):
    changes: TargetChanges


class DeleteTarget(TargetCommand):
    """Refused while a routing policy names the target."""


class GetTarget(TargetCommand):
    pass


class ListTargets(Command):
    limit: int | None = Field(default=None, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)


@operation("target.create", scope="admin", audit="target.create")
def create_target(call: Call, command: CreateTarget) -> TargetView:
    target = NotificationTarget(
        name=command.name,
        kind=command.kind,
        config=command.config,
        enabled=command.enabled,
        repeat_every=command.repeat_every,
    )
    ensure_new(call.session, NotificationTarget, command.name, WHAT)
    insert(call.session, target, WHAT)
    config_history.created(call, "notification_target", target)
    call.audit(
        "notification_target",
        target.target_id,
        name=target.name,
        kind=target.kind,
        config=mask_config(target.kind, target.config),
        enabled=target.enabled,
        repeat_every=target.repeat_every,
    )
    return TargetView.of(target)


@operation("target.update", scope="admin", audit="target.update")
def update_target(call: Call, command: UpdateTarget) -> TargetView:
    values = command.changes.model_dump(exclude_unset=True)
    if not values:
        raise InvalidInput("no fields to update")
    for field in ("kind", "config", "enabled"):
        if field in values and values[field] is None:
            raise InvalidInput(f"{field} must not be null")
    target = find(call.session, NotificationTarget, command.name, WHAT, lock=True)
    kind = values.get("kind", target.kind)
    if kind != target.kind and "config" not in values:
        raise InvalidInput(f"changing kind to {kind} needs a config for a {kind} target")
    configured = config_history.snapshot("notification_target", target)
    before = {"kind": target.kind, "config": mask_config(target.kind, target.config)}
    before["enabled"] = target.enabled
    if "config" in values:
        try:
            target.config = validate_config(kind, values["config"])
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
    target.kind = kind
    if "enabled" in values:
        target.enabled = values["enabled"]
    if "repeat_every" in values:
        target.repeat_every = values["repeat_every"]
    try:
        _refuse_pager_repeats(target.kind, target.repeat_every)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    target.updated_at = utcnow()
    call.session.add(target)
    config_history.changed(call, "notification_target", target, configured)
    call.audit(
        "notification_target",
        target.target_id,
        name=target.name,
        before=before,
        after={
            "kind": target.kind,
            "config": mask_config(target.kind, target.config),
            "enabled": target.enabled,
            "repeat_every": target.repeat_every,
        },
    )
    return TargetView.of(target)


@operation("target.delete", scope="admin", audit="target.delete")
def delete_target(call: Call, command: DeleteTarget) -> TargetView:
    """Refused while a routing policy names the target."""
    target = find(call.session, NotificationTarget, command.name, WHAT, lock=True)
    users = policies_naming(call.session, "targets", target.name)
    if users:
        raise Conflict(
            f"notification target {target.name!r} is used by routing "
            f"polic{'ies' if len(users) > 1 else 'y'} {names_list(users)}; "
            "change them first (or disable the target)"
        )
    deleted = TargetView.of(target)
    config_history.deleted(call, "notification_target", target)
    call.audit(
        "notification_target",
        target.target_id,
        name=target.name,
        kind=target.kind,
    )
    call.session.delete(target)
    return deleted


@operation("target.get", scope="read")
def get_target(call: Call, command: GetTarget) -> TargetView:
    return TargetView.of(find(call.session, NotificationTarget, command.name, WHAT))


@operation("target.list", scope="read")
def list_targets(call: Call, query: ListTargets) -> tuple[list[TargetView], int]:
    """By name, secrets masked."""
    rows, total = fetch_page(
        call.session,
        select(NotificationTarget),
        [col(NotificationTarget.name)],
        query.limit,
        query.offset,
    )
    return [TargetView.of(row) for row in rows], total
