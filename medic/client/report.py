"""What one report to Medic came to: answered (and how), or not reached and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Report:
    """`ok` when Medic stored the report (2xx). `status_code` is None when Medic was
    not reached; `message` is Medic's answer or the reason it was not reached."""

    ok: bool
    status_code: int | None
    message: str
    what: str
    results: Any = None
    attempts: int = 1
    run_id: str | None = None

    def describe(self) -> str:
        """One line for a warning: what was reported and what went wrong."""
        answer = f"{self.status_code}: " if self.status_code is not None else ""
        tries = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        return f"{self.what}: {answer}{self.message}{tries}"


class MedicError(Exception):
    """A report Medic did not store, raised only for a client made with
    `raise_errors=True`; `report` says why."""

    def __init__(self, report: Report) -> None:
        super().__init__(report.describe())
        self.report = report
