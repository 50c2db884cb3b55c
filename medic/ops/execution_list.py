"""Listing playbook executions (read), newest first, so a person finds an execution's
id without Slack or the audit log. Every filter given must match; a filter naming
nothing that exists (a playbook never applied, a key that never asked) matches no
execution rather than failing, as the audit log's filters do."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from sqlalchemy import ColumnElement, false, or_
from sqlmodel import Session, col, select

from medic.core.names import name_key
from medic.models import ApiKey, Execution, Service
from medic.ops.actor import SYSTEM
from medic.ops.executions import ExecutionSummary
from medic.ops.fields import MAX_ID, FilterText, InstantBound
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page
from medic.ops.principals import display_name

ExecutionState = Literal[
    "pending_approval", "running", "waiting", "completed", "failed", "cancelled"
]


class ListExecutions(Command):
    """Which executions: `since` inclusive and `until` exclusive bound when they were
    requested; `requester` is a key's name, `slack:<user>`, `medic`, or a principal."""

    playbook: FilterText | None = Field(default=None, description="the playbook's name")
    service: FilterText | None = Field(
        default=None, description="the service acted on: its id or heartbeat name"
    )
    state: ExecutionState | None = None
    requester: FilterText | None = Field(
        default=None, description="who requested it: a key's name, slack:<user>, medic"
    )
    since: InstantBound | None = None
    until: InstantBound | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


@operation("execution.list", scope="read")
def list_executions(call: Call, query: ListExecutions) -> tuple[list[ExecutionSummary], int]:
    """A page of executions, newest first, and how many match in all."""
    session = call.session
    statement = select(Execution)
    if query.playbook is not None:
        statement = statement.where(Execution.playbook_name == query.playbook)
    if query.service is not None:
        statement = statement.where(_service_matches(session, query.service))
    if query.state is not None:
        statement = statement.where(Execution.state == query.state)
    if query.requester is not None:
        statement = statement.where(_requester_matches(session, query.requester))
    if query.since is not None:
        statement = statement.where(col(Execution.created_at) >= query.since)
    if query.until is not None:
        statement = statement.where(col(Execution.created_at) < query.until)
    rows, total = fetch_page(
        session, statement, [col(Execution.execution_id).desc()], query.limit, query.offset
    )
    names: dict[str, str] = {}
    items = []
    for row in rows:
        if row.requested_by not in names:
            names[row.requested_by] = display_name(session, row.requested_by)
        items.append(ExecutionSummary.summary_of(row, names[row.requested_by]))
    return items, total


def _service_matches(session: Session, ref: str) -> ColumnElement[bool]:
    """A service by heartbeat name (case-insensitively) or, for digits, by id."""
    ids: list[int] = list(
        session.exec(select(Service.service_id).where(Service.name_key == name_key(ref))).all()
    )
    if ref.isdigit() and int(ref) <= MAX_ID:
        ids.append(int(ref))
    return col(Execution.service_id).in_(ids) if ids else false()


def _requester_matches(session: Session, requester: str) -> ColumnElement[bool]:
    """The principals the name a view shows can stand for (medic.ops.principals)."""
    principals: list[str] = [requester]
    key_id = session.exec(select(ApiKey.api_key_id).where(ApiKey.name == requester)).first()
    if key_id is not None:
        principals.append(f"key:{key_id}")
    if requester == SYSTEM.name:
        principals.append("system")
    conditions: list[Any] = [col(Execution.requested_by).in_(principals)]
    kind, _, user = requester.partition(":")
    if kind == "slack" and user and "/" not in user:
        # `slack:<user>` as views show it, in whichever workspace it was signed.
        conditions.append(
            col(Execution.requested_by).like(f"slack:%/{_escaped(user)}", escape="\\")
        )
    return or_(*conditions)


def _escaped(text: str) -> str:
    """`text` as a LIKE pattern matching itself."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
