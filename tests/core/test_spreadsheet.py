"""An exported cell is never a spreadsheet formula (CSV injection)."""

from __future__ import annotations

import pytest

from medic.core.spreadsheet import inert_cell


@pytest.mark.parametrize("formula", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"])
def test_a_formula_is_written_as_text(formula: str) -> None:
    assert inert_cell(formula) == "'" + formula


@pytest.mark.parametrize(("value", "shown"), [("alice", "alice"), (None, ""), (42, "42"), ("", "")])
def test_anything_else_is_kept(value: object, shown: str) -> None:
    assert inert_cell(value) == shown
