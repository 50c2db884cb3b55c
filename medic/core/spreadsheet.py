"""Cells a spreadsheet will not run: an exported value that starts with `=`, `+`, `-`,
`@` (or a tab or carriage return, which some spreadsheets skip before reading a
formula) is a formula to Excel, LibreOffice and Google Sheets, so a name or reason
anyone can set could run one in the reader's sheet ("CSV injection"). Such a cell is
written with a leading `'`, which spreadsheets show as text and never evaluate."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value: object) -> str:
    """`value` as CSV text that no spreadsheet evaluates (None: empty)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
