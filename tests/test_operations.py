"""The operations registry: every action is declared, with a scope and (if it changes
anything) an audit action, and the declaration is what enforces and records them."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from sqlmodel import select

import medic.ops
from medic.core.scopes import SCOPES
from medic.models import AuditEntry
from medic.ops.actor import Actor
from medic.ops.errors import Forbidden
from medic.ops.operation import REGISTRY, Command, Context
from medic.ops.service_commands import MuteService
from medic.ops.services import mute
from medic.process import MedicProcess

for _module in pkgutil.iter_modules(medic.ops.__path__):
    importlib.import_module(f"medic.ops.{_module.name}")

MUTATING = sorted(name for name, op in REGISTRY.items() if op.mutating)


def test_the_registry_holds_the_actions_people_take() -> None:
    expected = {
        "service.register",
        "service.update",
        "service.mute",
        "service.unmute",
        "service.delete",
        "alert.acknowledge",
        "execution.start",
        "execution.approve",
        "execution.decline",
    }
    assert expected <= set(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_operation_declares_a_known_scope(name: str) -> None:
    assert REGISTRY[name].scope in SCOPES


# A read key's own dashboard session: the one thing it may start and end (it changes
# nothing monitored, and is audited like any action).
READ_KEY_SESSIONS = {"dashboard.sign_in", "dashboard.sign_out"}


@pytest.mark.parametrize("name", MUTATING)
def test_every_mutating_operation_declares_its_audit_action(name: str) -> None:
    operation = REGISTRY[name]
    assert operation.audit_action and "." in operation.audit_action
    if name not in READ_KEY_SESSIONS:
        assert operation.scope != "read", f"{name} changes state with the read scope"


def test_reads_write_no_audit_entry() -> None:
    reads = [name for name, op in REGISTRY.items() if not op.mutating]
    assert reads and all(REGISTRY[name].scope for name in reads)


def test_a_command_refuses_unknown_fields() -> None:
    with pytest.raises(Exception, match="unknown field 'forever'"):
        MuteService.of(service="etl", forever=True)


def test_commands_are_commands() -> None:
    assert issubclass(MuteService, Command)


def test_a_refused_operation_is_audited_with_actor_and_door(
    medic: MedicProcess, register: object
) -> None:
    register("nightly-backup")  # type: ignore[operator]
    reader = Actor(name="dashboards", front_door="mcp", scopes=frozenset({"read"}))

    with pytest.raises(Forbidden):
        mute(Context(medic.db, reader), MuteService.of(service="nightly-backup", reason="x"))

    with medic.db.session() as session:
        entries = session.exec(select(AuditEntry)).all()
    refused = [e for e in entries if e.outcome == "refused"]
    assert [(e.action, e.actor, e.front_door, e.target_id) for e in refused] == [
        ("service.mute", "dashboards", "mcp", "nightly-backup")
    ]
