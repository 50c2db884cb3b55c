"""Rows people refer to by name (teams, targets, routing policies, working hours).

The name is the identity: services and policies refer to these rows by it, so it is
never renamed, goes into URLs (no `/`, no control characters) and is matched exactly.
A new name that differs from an existing one only in case is refused, so two rows
nobody can tell apart in a chat message never exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, func, select

from medic.core.names import clean_name
from medic.ops.errors import Conflict, NotFound

Row = TypeVar("Row", bound=SQLModel)


def _clean(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return clean_name(value, "name")


Name = Annotated[str, AfterValidator(_clean)]


def no_nul(value: str | None) -> str | None:
    """PostgreSQL cannot store NUL in text; refuse it on every backend."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def find(session: Session, model: type[Row], name: str, what: str, lock: bool = False) -> Row:
    """The row called exactly `name`, or NotFound naming what was looked for."""
    statement = select(model).where(model.name == name)  # type: ignore[attr-defined]
    if lock:
        statement = statement.with_for_update()
    row = session.exec(statement).first() if "\x00" not in name else None
    if row is None:
        raise NotFound(f"no {what} named {name!r}")
    return row


def ensure_new(session: Session, model: type[Row], name: str, what: str) -> None:
    """Conflict when the name, in any case, is taken."""
    column = model.name  # type: ignore[attr-defined]
    taken = session.exec(select(column).where(func.lower(column) == name.lower())).first()
    if taken is not None:
        raise Conflict(f"a {what} named {taken!r} already exists")


def insert(session: Session, row: SQLModel, what: str) -> None:
    """Flush a new row; a concurrent create of the same name is a Conflict, not a 500."""
    session.add(row)
    name = row.name  # type: ignore[attr-defined]
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"a {what} named {name!r} already exists") from None


def plain(value: Any) -> Any:
    """A value as the audit log's JSON stores it."""
    return value.isoformat() if isinstance(value, datetime) else value


def names_list(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
