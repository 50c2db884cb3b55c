"""Configuration history (the original Medic's snapshots): every change to a service,
team, routing policy, notification target or maintenance window keeps its state before
and after, written by the operation that changes it, in its transaction.

What counts as configuration is what a user sets through the object's create and
update commands: each owning module names its command (`track`), and a field added to
it is kept without touching this module. Operational state is not: mutes,
acknowledgements, a service's state and deadlines, a window's progress. Target secrets
are stored masked (medic.ops.target_config), so reading the history never reveals one.

Restoring a change is medic.ops.config_restore.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import SQLModel, col, select

from medic.models import ConfigChange
from medic.ops.errors import NotFound
from medic.ops.fields import MAX_ID, FilterText, InstantBound
from medic.ops.named import plain
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page
from medic.ops.target_config import mask_config

Kind = Literal["service", "team", "routing_policy", "notification_target", "maintenance_window"]
KINDS: tuple[Kind, ...] = (
    "service",
    "team",
    "routing_policy",
    "notification_target",
    "maintenance_window",
)
Action = Literal["create", "update", "delete"]
# How each kind's objects are named in the history: a stable id where the name may
# change (services are renamed; a window has no unique name), else the name.
KEY_FIELDS: dict[str, str] = {
    "service": "service_id",
    "team": "name",
    "routing_policy": "name",
    "notification_target": "name",
    "maintenance_window": "window_id",
}


# Each kind's command whose fields are its configuration, and the fields of it that are
# operational state instead; filled by the operations modules (`track`) as they load.
_TRACKED: dict[str, tuple[type[BaseModel], frozenset[str]]] = {}


def track(kind: Kind, command: type[BaseModel], operational: frozenset[str] = frozenset()) -> None:
    """Declare the command whose fields make up `kind`'s configuration (called once by
    the module that owns the kind, beside the command: the two never drift apart)."""
    _TRACKED[kind] = (command, operational)


def snapshot_fields(kind: str, model: type[SQLModel]) -> tuple[str, ...]:
    """The fields a user sets on an object of this kind that the table stores."""
    command, operational = _TRACKED[kind]
    return tuple(
        name
        for name in command.model_fields
        if name in model.model_fields and name not in operational
    )


def snapshot(kind: str, row: Any) -> dict[str, Any]:
    """The object's configuration as the history stores it (JSON; secrets masked)."""
    state = {name: _json(getattr(row, name)) for name in snapshot_fields(kind, type(row))}
    if kind == "notification_target":
        state["config"] = mask_config(row.kind, row.config)
    return state


def _json(value: Any) -> Any:
    if isinstance(value, list):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    return plain(value)


@dataclass
class _Restoring:
    change_id: int
    recorded: list[int] = field(default_factory=list)


_restoring: ContextVar[_Restoring | None] = ContextVar("config_restoring", default=None)


@contextmanager
def restoring(change_id: int) -> Iterator[list[int]]:
    """Changes recorded while restoring `change_id` name it (`restored_from`); yields
    the ids of the changes recorded. Operations run in the caller's thread, so a
    context variable carries this through the declared operation to `record_change`."""
    state = _Restoring(change_id)
    token = _restoring.set(state)
    try:
        yield state.recorded
    finally:
        _restoring.reset(token)


def record_change(
    call: Call,
    kind: Kind,
    key: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """One history row in the operation's transaction: it commits with the change."""
    action: Action = "create" if before is None else "delete" if after is None else "update"
    if action == "update" and before == after:
        return
    state = _restoring.get()
    change = ConfigChange(
        actor=call.actor.name,
        front_door=call.actor.front_door,
        kind=kind,
        key=str(key),
        action=action,
        before=before,
        after=after,
        restored_from=None if state is None else state.change_id,
    )
    call.session.add(change)
    if state is not None:
        call.session.flush()
        state.recorded.append(change.change_id)  # type: ignore[arg-type]


def created(call: Call, kind: Kind, row: Any) -> None:
    """Record a new object (flushed, so its id is known)."""
    record_change(call, kind, getattr(row, KEY_FIELDS[kind]), None, snapshot(kind, row))


def changed(call: Call, kind: Kind, row: Any, before: dict[str, Any]) -> None:
    """Record a change; `before` is `snapshot(kind, row)` taken before it."""
    record_change(call, kind, getattr(row, KEY_FIELDS[kind]), before, snapshot(kind, row))


def deleted(call: Call, kind: Kind, row: Any) -> None:
    """Record a deletion (before the row is deleted)."""
    record_change(call, kind, getattr(row, KEY_FIELDS[kind]), snapshot(kind, row), None)


class ConfigChangeView(BaseModel):
    """One change: who made it, through which door, and the object's configuration
    before and after (null before a create, after a delete). `restored_from`: the
    change whose `before` this change restored."""

    change_id: int
    at: datetime
    actor: str
    front_door: str
    kind: str
    key: str = Field(description="service and window: the id; others: the name")
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    restored_from: int | None

    @classmethod
    def of(cls, change: ConfigChange) -> ConfigChangeView:
        return cls.model_validate(change.model_dump())


class ListChanges(Command):
    """Which changes: every given filter must match; `since` inclusive, `until` exclusive."""

    kind: Kind | None = None
    key: FilterText | None = None
    action: Action | None = None
    actor_name: FilterText | None = None
    since: InstantBound | None = None
    until: InstantBound | None = None
    limit: int | None = Field(default=100, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


class GetChange(Command):
    change_id: int = Field(ge=1, le=2**62)

    def audit_target(self) -> tuple[str | None, object]:
        return "config_change", self.change_id


@operation("config_history.list", scope="read")
def list_changes(call: Call, query: ListChanges) -> tuple[list[ConfigChangeView], int]:
    """Newest first."""
    statement = select(ConfigChange)
    for column, value in (
        (ConfigChange.kind, query.kind),
        (ConfigChange.key, query.key),
        (ConfigChange.action, query.action),
        (ConfigChange.actor, query.actor_name),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if query.since is not None:
        statement = statement.where(col(ConfigChange.at) >= query.since)
    if query.until is not None:
        statement = statement.where(col(ConfigChange.at) < query.until)
    rows, total = fetch_page(
        call.session,
        statement,
        [col(ConfigChange.change_id).desc()],
        query.limit,
        query.offset,
    )
    return [ConfigChangeView.of(row) for row in rows], total


@operation("config_history.get", scope="read")
def get_change(call: Call, query: GetChange) -> ConfigChangeView:
    change = call.session.get(ConfigChange, query.change_id)
    if change is None:
        raise NotFound(f"no configuration change with id {query.change_id}")
    return ConfigChangeView.of(change)
