"""Notification targets (SRE-9, SRE-10): a Slack channel, a PagerDuty service, a
webhook, email recipients or a Discord channel, by name, for routing policies to use.

Config is checked per kind when written (medic.ops.target_config) and secrets in it
are masked in every view and audit entry. A target a policy names cannot be deleted
(disable it instead: `enabled: false` makes the delivery engine skip it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session, col, select

from medic.db import Database
from medic.models import NotificationTarget, RoutingPolicy
from medic.models.columns import utcnow
from medic.ops import audit
from medic.ops.actor import Actor
from medic.ops.errors import Conflict, InvalidInput
from medic.ops.named import Name, ensure_new, find, insert, names_list
from medic.ops.paging import fetch_page
from medic.ops.target_config import mask_config, validate_config

Kind = Literal["slack", "pagerduty", "webhook", "email", "discord"]
WHAT = "notification target"


class TargetSpec(BaseModel):
    """A new target. Config per kind: slack `{channel?}`; pagerduty `{routing_key?}`
    (default PAGERDUTY_ROUTING_KEY); webhook `{url, headers?, method?}`; email `{to}`;
    discord `{url, username?}`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name = Field(max_length=255)
    kind: Kind
    config: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True

    @model_validator(mode="after")
    def _config(self) -> TargetSpec:
        self.config = validate_config(self.kind, self.config)
        return self


class TargetChanges(BaseModel):
    """Fields left out stay. A new `config` replaces the old one whole (secrets
    included: a masked value cannot be sent back); a new `kind` needs a new config."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Kind | None = None
    config: dict[str, Any] | None = None
    enabled: bool | None = None


class TargetView(BaseModel):
    target_id: int
    name: str
    kind: str
    config: dict[str, Any] = Field(description="secrets masked")
    enabled: bool
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


def create_target(db: Database, actor: Actor, spec: TargetSpec) -> NotificationTarget:
    actor.require("write")
    target = NotificationTarget(
        name=spec.name, kind=spec.kind, config=spec.config, enabled=spec.enabled
    )
    with db.session() as session:
        ensure_new(session, NotificationTarget, spec.name, WHAT)
        insert(session, target, WHAT)
        audit.record(
            session,
            actor,
            "target.create",
            "notification_target",
            target.target_id,
            name=target.name,
            kind=target.kind,
            config=mask_config(target.kind, target.config),
            enabled=target.enabled,
        )
    return target


def update_target(
    db: Database, actor: Actor, name: str, changes: TargetChanges
) -> NotificationTarget:
    actor.require("write")
    values = changes.model_dump(exclude_unset=True)
    if not values:
        raise InvalidInput("no fields to update")
    for field in ("kind", "config", "enabled"):
        if field in values and values[field] is None:
            raise InvalidInput(f"{field} must not be null")
    with db.session() as session:
        target = find(session, NotificationTarget, name, WHAT, lock=True)
        kind = values.get("kind", target.kind)
        if kind != target.kind and "config" not in values:
            raise InvalidInput(f"changing kind to {kind} needs a config for a {kind} target")
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
        target.updated_at = utcnow()
        session.add(target)
        audit.record(
            session,
            actor,
            "target.update",
            "notification_target",
            target.target_id,
            name=target.name,
            before=before,
            after={
                "kind": target.kind,
                "config": mask_config(target.kind, target.config),
                "enabled": target.enabled,
            },
        )
    return target


def delete_target(db: Database, actor: Actor, name: str) -> NotificationTarget:
    """Refused while a routing policy names the target."""
    actor.require("write")
    with db.session() as session:
        target = find(session, NotificationTarget, name, WHAT, lock=True)
        users = policies_naming(session, "targets", target.name)
        if users:
            raise Conflict(
                f"notification target {target.name!r} is used by routing "
                f"polic{'ies' if len(users) > 1 else 'y'} {names_list(users)}; "
                "change them first (or disable the target)"
            )
        audit.record(
            session,
            actor,
            "target.delete",
            "notification_target",
            target.target_id,
            name=target.name,
            kind=target.kind,
        )
        session.delete(target)
    return target


def get_target(db: Database, actor: Actor, name: str) -> NotificationTarget:
    actor.require("read")
    with db.session() as session:
        return find(session, NotificationTarget, name, WHAT)


def list_targets(
    db: Database, actor: Actor, limit: int | None = None, offset: int = 0
) -> tuple[list[NotificationTarget], int]:
    actor.require("read")
    with db.session() as session:
        return fetch_page(
            session, select(NotificationTarget), [col(NotificationTarget.name)], limit, offset
        )
