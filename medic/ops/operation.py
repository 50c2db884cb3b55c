"""Declared operations: every action Medic takes for someone is one function, declared
once with its scope and its audit action.

A front door (REST, Slack, MCP, CLI, dashboard) builds the operation's command from its
own input, runs the operation with a `Context` (the database, its settings and the
acting principal) and renders the view it returns. The declaration does the rest, the
same way for every door:

* the scope is checked before anything runs;
* the body runs in one transaction, and the audit entry is written in it, so an action
  and its entry are committed together or not at all;
* a refusal (a missing scope, the wrong approver, a decision too late) is audited too,
  with the actor and the front door, in a transaction of its own;
* the operation is registered, so tests can walk every operation through every door.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlmodel import Session

from medic.config import Settings
from medic.db import Database
from medic.ops import audit
from medic.ops.actor import Actor
from medic.ops.errors import InvalidInput, MedicError
from medic.ops.validation import describe_validation_error

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound="Command")


class Command(BaseModel):
    """The typed input of one operation; it owns all of that operation's validation.

    Build it with `Command.of(...)` from untrusted values: a bad value becomes
    InvalidInput naming the field, whichever door the value came through.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    @classmethod
    def of(cls: type[C], **values: Any) -> C:
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise InvalidInput(describe_validation_error(list(exc.errors()))) from None

    def audit_target(self) -> tuple[str | None, object]:
        """What a refused attempt names in the audit log (type, id or name)."""
        return None, None


class KeyCache(Protocol):
    """This process's cache of verified API keys (medic.ops.keys.VerifiedKeyCache)."""

    def forget(self, api_key_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Context:
    """Who acts, on which database. Settings come with the database, so operations
    never take `default_timezone` or `auto_unmute_hours` as parameters.

    `key_cache` is the process's verified-key cache, like the database a part of the
    running process (medic.process.MedicProcess): rotating or revoking a key clears it once the
    change commits, so the old secret stops working here at once. None where no key is
    verified in process (other processes notice within MEDIC_KEY_CACHE_SECONDS)."""

    db: Database
    actor: Actor
    key_cache: KeyCache | None = None

    @property
    def settings(self) -> Settings:
        return self.db.settings


@dataclass(slots=True)
class Call:
    """One running operation: its context and its open transaction."""

    context: Context
    session: Session
    action: str | None
    audited: bool = False

    @property
    def db(self) -> Database:
        return self.context.db

    @property
    def actor(self) -> Actor:
        return self.context.actor

    @property
    def settings(self) -> Settings:
        return self.context.db.settings

    def audit(
        self,
        target_type: str | None,
        target_id: object,
        *,
        as_action: str | None = None,
        **details: Any,
    ) -> None:
        """The entry for this operation's declared action, in its transaction.

        `as_action` names what the operation turned out to do when the declared action
        covers more than one (`playbook.apply` creates or updates: `playbook.create`)."""
        if self.action is None:
            raise RuntimeError("a read operation writes no audit entry")
        action = as_action or self.action
        audit.record(self.session, self.actor, action, target_type, target_id, **details)
        self.audited = True

    def unchanged(self) -> None:
        """Nothing happened (e.g. registering a name that exists): no audit entry."""
        self.audited = True


@dataclass(frozen=True, slots=True)
class Operation(Generic[R]):
    name: str
    scope: str
    audit_action: str | None
    function: Callable[..., R] = field(repr=False)

    @property
    def mutating(self) -> bool:
        return self.audit_action is not None


REGISTRY: dict[str, Operation[Any]] = {}


class KeepWrites(Exception):
    """Raised by an operation body to refuse *and* keep what it wrote (e.g. the circuit
    breaker's own record of the refusal): the transaction commits, then `error` is raised."""

    def __init__(self, error: MedicError) -> None:
        super().__init__(error.message)
        self.error = error


def operation(
    name: str, *, scope: str, audit: str | None = None
) -> Callable[[Callable[Concatenate[Call, P], R]], Callable[Concatenate[Context, P], R]]:
    """Declare an operation. `audit` is the action written on success and on refusal
    (None for reads). The body takes a `Call`; callers pass a `Context`."""

    def declare(body: Callable[Concatenate[Call, P], R]) -> Callable[Concatenate[Context, P], R]:
        if name in REGISTRY:
            raise RuntimeError(f"operation {name!r} is declared twice")

        @functools.wraps(body)
        def run(context: Context, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                context.actor.require(scope)
                kept: KeepWrites | None = None
                with context.db.session() as session:
                    call = Call(context, session, audit)
                    try:
                        result = body(call, *args, **kwargs)
                    except KeepWrites as exc:
                        kept = exc
                    else:
                        if audit is not None and not call.audited:
                            call.audit(None, None)
                if kept is not None:
                    raise kept.error
                return result
            except MedicError as exc:
                if audit is not None and exc.audited_refusal:
                    _record_refusal(context, audit, exc, [*args, *kwargs.values()])
                raise

        REGISTRY[name] = Operation(name, scope, audit, run)
        return run

    return declare


def _record_refusal(context: Context, action: str, error: MedicError, args: list[Any]) -> None:
    target_type, target_id = None, None
    for arg in args:
        if isinstance(arg, Command):
            target_type, target_id = arg.audit_target()
            break
    with context.db.session() as session:
        audit.record(
            session,
            context.actor,
            action,
            target_type,
            target_id,
            outcome="refused",
            reason=error.message,
        )
