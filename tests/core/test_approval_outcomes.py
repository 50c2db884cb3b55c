"""How an approval request ended, from the execution's row, and what a late decision
is told: "already decided" only when someone decided."""

from __future__ import annotations

import pytest

from medic.core.approval_outcomes import EXPIRED_ERROR, closure_of, why_undecidable


@pytest.mark.parametrize(
    ("state", "decided_by", "on_deadline", "error", "closure"),
    [
        ("pending_approval", None, "run", None, None),
        ("running", "slack:U1", "cancel", None, "accepted"),
        ("cancelled", "slack:U1", "cancel", "declined by slack:U1", "declined"),
        ("completed", None, "run", None, "proceeded"),
        ("cancelled", None, "cancel", EXPIRED_ERROR, "expired"),
        ("cancelled", None, "cancel", "cancelled: the playbook was disabled by ops", "cancelled"),
    ],
)
def test_closure_of(
    state: str, decided_by: str | None, on_deadline: str, error: str | None, closure: str | None
) -> None:
    assert closure_of(state, decided_by, on_deadline, error) == closure


def test_only_a_decided_request_says_already_decided() -> None:
    assert "already decided" in why_undecidable("running", "slack:U1", "cancel", None)
    proceeded = why_undecidable("running", None, "run", None)
    assert "already decided" not in proceeded and "nobody decided" in proceeded
    assert "expired" in why_undecidable("cancelled", None, "cancel", EXPIRED_ERROR)
    assert "disabled" in why_undecidable("cancelled", None, "cancel", "cancelled: disabled")
    # Past the deadline, before the engine acted: a timeout proceeds, a required expires.
    assert "proceeds" in why_undecidable("pending_approval", None, "run", None)
    assert "expired" in why_undecidable("pending_approval", None, "cancel", None)
