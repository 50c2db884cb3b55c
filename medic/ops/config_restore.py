"""Restoring configuration: a change from the history, or an old playbook version.

Restoring change N makes its object look as it did just before N (N's `before`, the
original Medic's "snapshot"): undoing an update re-applies the old fields, undoing a
delete creates the object again. Nothing is written here: the restore runs through the
object's own declared update or create operation, so its validation, its scope and its
audit entry apply, and that operation records the restore in the history
(`restored_from` N). A change that created its object has nothing before it (delete the
object instead): 409.

What cannot come back:
* a deleted service or window is created anew, with a new id (and a service with a new
  ping uuid; its slug ping URL stays the same);
* target secrets are stored masked: a masked value is restored only where the target
  still holds that same secret (same masked form), which is kept; otherwise 409 asks to
  set the config by hand.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import SQLModel, select

from medic.core.scopes import grants
from medic.models import MaintenanceWindow, NotificationTarget, RoutingPolicy, Service, Team
from medic.ops import (
    audit,
    config_history,
    maintenance,
    playbooks,
    routing_policies,
    services,
    targets,
    teams,
)
from medic.ops.config_history import KEY_FIELDS, ConfigChangeView, GetChange, snapshot
from medic.ops.errors import Conflict, Forbidden
from medic.ops.operation import Context
from medic.ops.playbooks import Applied, ApplyPlaybook, GetPlaybook
from medic.ops.service_commands import RegisterService, UpdateService
from medic.ops.target_config import MASK, mask_config
from medic.ops.targets import CreateTarget, UpdateTarget

# The scope each kind's changes need; checked first, so a key that may not make the
# change is refused before anything else. A service's team change needs admin too:
# medic.ops.services checks it when the change is applied.
SCOPES = {
    "service": "write",
    "maintenance_window": "write",
    "team": "admin",
    "routing_policy": "admin",
    "notification_target": "admin",
}
MODELS: dict[str, type[SQLModel]] = {
    "service": Service,
    "team": Team,
    "routing_policy": RoutingPolicy,
    "notification_target": NotificationTarget,
    "maintenance_window": MaintenanceWindow,
}
RESTORE_ACTION = "config.restore"


class Restored(BaseModel):
    """What a restore did: the change it undid, and the change it recorded."""

    restored_from: int
    kind: str
    key: str = Field(description="the object now (a recreated service or window: its new id)")
    change: ConfigChangeView = Field(description="the change this restore recorded")


def restore_change(context: Context, change_id: int) -> Restored:
    """Make change `change_id`'s object look as it did before that change."""
    change = config_history.get_change(context, GetChange.of(change_id=change_id))
    _require(context, SCOPES[change.kind], change.change_id)
    if change.before is None:
        raise Conflict(
            f"change {change.change_id} created {change.kind} {change.key!r}: there is "
            "nothing before it to restore (delete the object instead)"
        )
    with config_history.restoring(change.change_id) as recorded:
        _RESTORERS[change.kind](context, change, dict(change.before))
    if not recorded:
        raise Conflict(
            f"{change.kind} {change.key!r} already looks as it did before change {change.change_id}"
        )
    latest = config_history.get_change(context, GetChange.of(change_id=recorded[-1]))
    return Restored(restored_from=change.change_id, kind=change.kind, key=latest.key, change=latest)


def _require(context: Context, scope: str, change_id: int) -> None:
    """Refused (and audited as refused) before anything is looked at or changed."""
    if grants(context.actor.scopes, scope):
        return
    error = Forbidden(
        f"restoring this change needs the {scope!r} scope, as making it does; "
        f"{context.actor.name!r} has {', '.join(sorted(context.actor.scopes)) or 'none'}"
    )
    with context.db.session() as session:
        audit.record(
            session,
            context.actor,
            RESTORE_ACTION,
            "config_change",
            change_id,
            outcome="refused",
            reason=error.message,
        )
    raise error


def _current(context: Context, kind: str, key: str) -> Any:
    """The object as stored now (None if gone): compared with the snapshot here only,
    never returned (a target's row holds its secrets)."""
    model, key_field = MODELS[kind], KEY_FIELDS[kind]
    value: object = int(key) if key_field.endswith("_id") else key
    with context.db.session() as session:
        row = session.exec(select(model).where(getattr(model, key_field) == value)).first()
        if row is not None:
            session.expunge(row)
        return row


def _differences(kind: str, before: dict[str, Any], row: Any) -> dict[str, Any]:
    now = snapshot(kind, row)
    return {name: value for name, value in before.items() if now.get(name) != value}


def _service(context: Context, change: ConfigChangeView, before: dict[str, Any]) -> None:
    row = _current(context, "service", change.key)
    if row is None:
        values = {name: value for name, value in before.items() if value is not None}
        service, created = services.register(context, RegisterService.of(**values))
        if not created:
            raise Conflict(
                f"a service named {service.heartbeat_name!r} is registered again (id "
                f"{service.service_id}); restore one of its own changes instead"
            )
        return
    changes = _differences("service", before, row)
    if changes:
        services.update_service(context, UpdateService.of(service=row.service_id, changes=changes))


def _team(context: Context, change: ConfigChangeView, before: dict[str, Any]) -> None:
    row = _current(context, "team", change.key)
    if row is None:
        teams.create_team(context, teams.CreateTeam.of(**before))
        return
    changes = _differences("team", before, row)
    if changes:
        teams.update_team(context, teams.UpdateTeam.of(name=change.key, changes=changes))


def _policy(context: Context, change: ConfigChangeView, before: dict[str, Any]) -> None:
    row = _current(context, "routing_policy", change.key)
    if row is None:
        routing_policies.create_policy(context, routing_policies.CreatePolicy.of(**before))
        return
    changes = _differences("routing_policy", before, row)
    if changes:
        routing_policies.update_policy(
            context, routing_policies.UpdatePolicy.of(name=change.key, changes=changes)
        )


def _target(context: Context, change: ConfigChangeView, before: dict[str, Any]) -> None:
    row = _current(context, "notification_target", change.key)
    config = _unmasked(change, before["kind"], before["config"], row)
    if row is None:
        targets.create_target(context, CreateTarget.of(**{**before, "config": config}))
        return
    changes: dict[str, Any] = {}
    if before["kind"] != row.kind or config != row.config:
        changes.update(kind=before["kind"], config=config)
    if before["enabled"] != row.enabled:
        changes["enabled"] = before["enabled"]
    if changes:
        targets.update_target(context, UpdateTarget.of(name=change.key, changes=changes))


def _unmasked(
    change: ConfigChangeView,
    kind: str,
    config: dict[str, Any],
    row: NotificationTarget | None,
) -> dict[str, Any]:
    """The snapshot's config with each masked value replaced by the target's current
    secret, where that secret masks to the same form (the one the version had)."""
    shown = mask_config(row.kind, row.config) if row is not None else {}
    restored: dict[str, Any] = {}
    for name, value in config.items():
        if MASK not in str(value):
            restored[name] = value
        elif row is not None and row.kind == kind and shown.get(name) == value:
            restored[name] = row.config[name]
        else:
            raise Conflict(
                f"change {change.change_id}: config.{name} of notification target "
                f"{change.key!r} holds a secret, which the history keeps masked, and the "
                "target no longer holds it; set the target's config by hand "
                "(medic target update)"
            )
    return restored


def _window(context: Context, change: ConfigChangeView, before: dict[str, Any]) -> None:
    """Windows are created and deleted, never changed: restoring brings a deleted one
    back (a new id). A one-time window whose end has passed is refused (400)."""
    values = {name: value for name, value in before.items() if value is not None}
    maintenance.create_window(context, maintenance.CreateWindow.of(**values))


_RESTORERS = {
    "service": _service,
    "team": _team,
    "routing_policy": _policy,
    "notification_target": _target,
    "maintenance_window": _window,
}


def restore_playbook_version(context: Context, name: str, version: int) -> Applied:
    """Make an old version current again: its YAML is applied as a new version (the
    versions stay append-only; executions keep the version they pinned). Admin, as any
    apply; restoring the current version's content changes nothing."""
    old = playbooks.get_playbook(context, GetPlaybook.of(name=name, version=version))
    return playbooks.apply_playbook(context, ApplyPlaybook.of(source_yaml=old.source_yaml))
