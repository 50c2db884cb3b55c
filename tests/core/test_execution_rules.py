"""Execution rules: states move one way, approvals are decided once by someone other
than the requester, timeouts proceed, and the circuit breaker stops loops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from medic.core.executions import (
    FINAL_STATES,
    MOVES,
    IllegalMove,
    approval_window,
    circuit_open,
    first_state,
    may_decide,
    move,
)
from medic.core.playbook_definition import Approval

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
APPROVERS = {"slack:U0BOB", "slack:U0CAROL"}


def test_a_finished_execution_never_moves_again() -> None:
    for state in FINAL_STATES:
        for target in MOVES:
            with pytest.raises(IllegalMove, match=state):
                move(state, target)


def test_running_and_waiting_alternate_until_an_end() -> None:
    state = move("pending_approval", "running")
    state = move(state, "waiting")
    state = move(state, "running")
    assert move(state, "completed") == "completed"
    with pytest.raises(IllegalMove):
        move("pending_approval", "waiting")


@pytest.mark.parametrize(
    ("approval", "forced", "expected"),
    [
        (Approval("none"), False, "running"),
        (Approval("none"), True, "pending_approval"),
        (Approval("required"), False, "pending_approval"),
        (Approval("timeout", 5), False, "pending_approval"),
    ],
)
def test_what_waits_for_a_person(approval: Approval, forced: bool, expected: str) -> None:
    assert first_state(approval, forced) == expected


def test_timeout_approval_proceeds_and_required_expires() -> None:
    window = approval_window(Approval("timeout", 30), NOW, timedelta(hours=4))
    assert (window.deadline, window.on_deadline) == (NOW + timedelta(minutes=30), "run")
    window = approval_window(Approval("required"), NOW, timedelta(hours=4))
    assert (window.deadline, window.on_deadline) == (NOW + timedelta(hours=4), "cancel")


def test_a_forced_approval_never_runs_on_silence() -> None:
    window = approval_window(Approval("timeout", 30), NOW, timedelta(hours=4), True)
    assert (window.deadline, window.on_deadline) == (NOW + timedelta(hours=4), "cancel")


def test_an_approver_other_than_the_requester_may_decide_once_before_the_deadline() -> None:
    deadline = NOW + timedelta(minutes=30)
    assert may_decide(
        "slack:U0BOB", "slack:U0ALICE", APPROVERS, "pending_approval", deadline, NOW
    ).allowed


@pytest.mark.parametrize(
    ("decider", "requester", "state", "at", "reason"),
    [
        ("slack:U0BOB", "slack:U0BOB", "pending_approval", NOW, "requester"),
        ("mcp-key", "mcp-key", "pending_approval", NOW, "requester"),
        ("slack:U0EVE", "slack:U0ALICE", "pending_approval", NOW, "approvers"),
        ("slack:U0BOB", "slack:U0ALICE", "running", NOW, "already decided"),
        ("slack:U0BOB", "slack:U0ALICE", "cancelled", NOW, "already decided"),
        ("slack:U0BOB", "slack:U0ALICE", "pending_approval", NOW + timedelta(hours=1), "expired"),
    ],
)
def test_refused_decisions_say_why(
    decider: str, requester: str, state: str, at: datetime, reason: str
) -> None:
    approvers = APPROVERS | {"mcp-key"}
    decision = may_decide(decider, requester, approvers, state, NOW + timedelta(minutes=30), at)
    assert not decision.allowed and reason in decision.reason


def test_the_circuit_breaker_counts_the_last_hour_only() -> None:
    starts = [NOW - timedelta(minutes=m) for m in (5, 20, 59)]
    assert circuit_open(starts, NOW, limit=3)
    assert not circuit_open(starts, NOW, limit=4)
    assert not circuit_open([NOW - timedelta(minutes=61)] * 10, NOW, limit=3)
