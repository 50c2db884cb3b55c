"""The rules of a playbook execution, without I/O: its states and moves, who may
decide an approval and when, and the circuit breaker against runaway loops.

    pending_approval ──accept / timeout passes──▶ running ⇄ waiting
           │                                        │
           └──decline / expiry─▶ cancelled          └─▶ completed | failed | cancelled
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from medic.core.playbook_definition import Approval

State = Literal["pending_approval", "running", "waiting", "completed", "failed", "cancelled"]
FINAL_STATES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
UNFINISHED_STATES: tuple[str, ...] = ("pending_approval", "running", "waiting")
MOVES: dict[str, frozenset[str]] = {
    "pending_approval": frozenset({"running", "cancelled"}),
    "running": frozenset({"waiting", "completed", "failed", "cancelled"}),
    "waiting": frozenset({"running", "completed", "failed", "cancelled"}),
    "completed": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}


class IllegalMove(ValueError):
    pass


def move(current: str, to: str) -> str:
    """The new state, or IllegalMove: a finished execution never moves again, so a late
    or replayed message cannot revive it."""
    if to not in MOVES.get(current, frozenset()):
        raise IllegalMove(f"an execution that is {current} cannot become {to}")
    return to


def first_state(approval: Approval, human_approval_forced: bool = False) -> str:
    """`none` runs at once (unless the requester's front door forces a human, as MCP
    does by default); `required` and `timeout:Nm` wait for a person."""
    if approval.kind == "none" and not human_approval_forced:
        return "running"
    return "pending_approval"


@dataclass(frozen=True)
class ApprovalWindow:
    """When a pending approval stops waiting, and what happens then."""

    deadline: datetime
    # timeout:Nm proceeds when nobody declined; required is cancelled as expired.
    on_deadline: Literal["run", "cancel"]


def approval_window(
    approval: Approval,
    requested_at: datetime,
    required_expiry: timedelta,
    human_approval_forced: bool = False,
) -> ApprovalWindow:
    """A forced approval is a `required` one: silence never lets it run."""
    if approval.kind == "timeout" and approval.minutes is not None and not human_approval_forced:
        return ApprovalWindow(requested_at + timedelta(minutes=approval.minutes), "run")
    return ApprovalWindow(requested_at + required_expiry, "cancel")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def may_decide(
    decider: str,
    requester: str,
    approvers: Collection[str],
    state: str,
    deadline: datetime,
    now: datetime,
) -> Decision:
    """Whether `decider` may accept or decline. Both are principals (`key:<id>`,
    `slack:<team>/<user>`, `system`), never display names, and so are `approvers`.

    The requester can never approve their own request, whatever their rights; a
    decided, expired or finished request changes nothing, and says why."""
    if state != "pending_approval":
        return Decision(False, f"this request was already decided: the execution is {state}")
    if now >= deadline:
        return Decision(False, "this request expired before anyone decided")
    if same_principal(decider, requester):
        return Decision(False, "the requester of an execution cannot approve it")
    if decider not in approvers:
        return Decision(False, "only the team's approvers may decide")
    return Decision(True, "ok")


def same_principal(one: str, other: str) -> bool:
    """Equal principals; a Slack user is the same user whether or not a payload named
    their workspace (`slack:U1` and `slack:T1/U1`), so a requester is never mistaken for
    someone else."""
    if one == other:
        return True
    if one.startswith("slack:") and other.startswith("slack:"):
        return _slack_user(one) == _slack_user(other)
    return False


def _slack_user(principal: str) -> str:
    return principal.removeprefix("slack:").rpartition("/")[2]


def circuit_open(
    started_at: Sequence[datetime],
    now: datetime,
    limit: int,
    period: timedelta = timedelta(hours=1),
) -> bool:
    """True when `limit` executions of one playbook on one service already started in
    the last `period`: another would be a loop, not a remedy."""
    recent = sum(1 for instant in started_at if now - period < instant <= now)
    return recent >= limit
