"""Which beats of a batch are failures although their status says otherwise: a
COMPLETED whose run was too short (``min_duration_seconds``) and a beat beyond a window
schedule's ``max_beats``. They are stored as sent, and count as failure reports, never
as proof of life (medic.core.detection_rules). No I/O: the writers hand in what they
read anyway (run starts from finishing the runs, the window's recent beats)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from medic.core.detection_rules import beats_in_window, too_fast, too_frequent
from medic.core.schedules import Schedule, schedule_of
from medic.core.statuses import PROOF_OF_LIFE, Status


def judge(
    rows: Sequence[Mapping[str, Any]],
    services_by_id: Mapping[int, Mapping[str, Any]],
    starts: Sequence[datetime | None],
    history: Mapping[int, list[datetime]],
    default_timezone: str,
) -> dict[int, str]:
    """Per row index judged a failure, why. `starts` holds, per row, when the run it
    finished started; `history` the recent proof-of-life beats (this batch's included)
    of the services that need them."""
    judged: dict[int, str] = {}
    schedules: dict[int, Schedule] = {}
    for index, row in enumerate(rows):
        if row["status"] not in PROOF_OF_LIFE:
            continue
        service = services_by_id[row["service_id"]]
        started = starts[index]
        reason = None
        if row["status"] == Status.COMPLETED and started is not None:
            reason = too_fast(row["time"] - started, service["min_duration_seconds"])
        if reason is None and service["max_beats"] is not None:
            sid = row["service_id"]
            schedule = schedules.setdefault(sid, schedule_of(service, default_timezone))
            count = beats_in_window(schedule, history.get(sid, []), row["time"])
            reason = too_frequent(count, service["max_beats"])
        if reason is not None:
            judged[index] = reason
    return judged


def history_size(service: Mapping[str, Any], alive_in_batch: int) -> int:
    """How many recent proof-of-life beats a service's schedule and rules look at: its
    threshold, or enough to count a window up to one beat beyond max_beats for every
    beat of this batch."""
    if service["max_beats"] is None:
        return int(service["threshold"])
    return max(int(service["threshold"]), int(service["max_beats"]) + alive_in_batch)


def alive_counts(rows: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """Per service, its proof-of-life beats (by status) in the batch."""
    counts: dict[int, int] = {}
    for row in rows:
        if row["status"] in PROOF_OF_LIFE:
            counts[row["service_id"]] = counts.get(row["service_id"], 0) + 1
    return counts
