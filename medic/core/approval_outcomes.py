"""How a playbook execution's approval request ended, and how to say so, without I/O.

A request stops waiting in one of five ways: an approver accepts or declines it (in
Slack, on the approval page, through the API or the CLI), its `timeout:Nm` window
passes with nobody declining (it proceeds), its `required` window passes with nobody
accepting (it expires), or its playbook is disabled or deleted (it is cancelled). The
approval message, a refused late click and the approval page all say which.
"""

from __future__ import annotations

from typing import Literal

Closure = Literal["accepted", "declined", "proceeded", "expired", "cancelled"]
CLOSURES: tuple[Closure, ...] = ("accepted", "declined", "proceeded", "expired", "cancelled")
# The execution's error when its `required` window passed (medic.playbooks.engine).
EXPIRED_ERROR = "the approval request expired"


def closure_of(
    state: str, decided_by: str | None, on_deadline: str | None, error: str | None
) -> Closure | None:
    """How the request ended, from the execution's row; None while it still waits."""
    if state == "pending_approval":
        return None
    if decided_by:
        return "declined" if state == "cancelled" else "accepted"
    if state != "cancelled":
        return "proceeded" if on_deadline == "run" else "accepted"
    return "expired" if error == EXPIRED_ERROR else "cancelled"


def why_undecidable(
    state: str,
    decided_by: str | None,
    on_deadline: str | None,
    error: str | None,
) -> str:
    """Why a decision on a request that no longer waits changes nothing. Only a
    request someone decided says "already decided"; the others say what happened."""
    closure = closure_of(state, decided_by, on_deadline, error)
    if closure is None:
        if on_deadline == "run":
            return "nobody declined this request before its deadline: the playbook proceeds"
        return "this request expired before anyone decided"
    if closure in ("accepted", "declined"):
        return f"this request was already decided: the execution is {state}"
    if closure == "proceeded":
        return (
            "nobody decided this request: its time to decline ran out, so the playbook "
            f"proceeded (the execution is {state})"
        )
    if closure == "expired":
        return "this request expired before anyone decided; the execution was cancelled"
    return f"this request was closed without a decision: {error or 'the execution was cancelled'}"
