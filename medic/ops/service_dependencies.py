"""Writing service dependencies (`depends_on`): every parent must exist, and no cycle
may form (medic.core.dependencies). Names are stored as the parents spell theirs, and
follow a parent that is renamed; a deleted parent leaves its children's lists.

Writes that change dependencies take turns (a transaction-level advisory lock on
PostgreSQL; SQLite has one writer), so two concurrent edits cannot close a cycle
neither saw.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, String, cast, text
from sqlmodel import Session, col, select

from medic.core.dependencies import find_cycle
from medic.core.names import name_key
from medic.models import Service
from medic.ops.errors import InvalidInput

# pg_advisory_xact_lock key: "depends" in ASCII.
_LOCK_KEY = 0x646570656E6473


def check_parents(
    session: Session, service_name: str, parents: list[str], previous_name: str | None = None
) -> list[str]:
    """The parents as stored (their own spelling); InvalidInput for an unknown name or
    a cycle, naming it. `previous_name`: the service's name before a rename in the same
    change (the graph's edges to it are edges to the new name)."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_LOCK_KEY))  # type: ignore[call-overload]
    if not parents:
        return []
    keys = [name_key(name) for name in parents]
    found = {
        key: name
        for key, name in session.exec(
            select(Service.name_key, Service.heartbeat_name).where(col(Service.name_key).in_(keys))
        ).all()
    }
    missing = [name for name, key in zip(parents, keys, strict=True) if key not in found]
    if missing:
        raise InvalidInput(
            "depends_on: no service named "
            + ", ".join(repr(name) for name in missing)
            + " is registered"
        )
    own = name_key(service_name)
    before = name_key(previous_name) if previous_name else own
    graph: dict[str, list[str]] = {
        key: [own if name_key(parent) == before else name_key(parent) for parent in depends_on]
        for key, depends_on in session.exec(
            select(Service.name_key, Service.depends_on).where(_with_parents())
        ).all()
        if depends_on and key != before
    }
    graph[own] = keys
    cycle = find_cycle(graph, own)
    if cycle is not None:
        spelled = dict(
            session.exec(
                select(Service.name_key, Service.heartbeat_name).where(
                    col(Service.name_key).in_(cycle)
                )
            ).all()
        )
        spelled[own] = service_name
        path = " → ".join(spelled.get(key, key) for key in cycle)
        raise InvalidInput(f"depends_on: that would make a cycle: {path}")
    return [found[key] for key in keys]


def rename_parent(session: Session, old_name: str, new_name: str) -> None:
    """Children keep depending on a parent that is renamed."""
    old = name_key(old_name)
    for child in _children(session, old):
        child.depends_on = [new_name if name_key(p) == old else p for p in child.depends_on]
        session.add(child)


def forget_parent(session: Session, name: str) -> None:
    """A deleted parent leaves its children's lists."""
    key = name_key(name)
    for child in _children(session, key):
        child.depends_on = [p for p in child.depends_on if name_key(p) != key]
        session.add(child)


def _children(session: Session, key: str) -> list[Service]:
    return [
        service
        for service in session.exec(select(Service).where(_with_parents())).all()
        if any(name_key(parent) == key for parent in service.depends_on or ())
    ]


def _with_parents() -> ColumnElement[bool]:
    """Services whose list is not empty (`[]` as text on SQLite and PostgreSQL alike)."""
    return cast(col(Service.depends_on), String) != "[]"
