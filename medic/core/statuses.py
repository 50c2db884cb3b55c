"""Heartbeat statuses and what each one proves."""

from enum import StrEnum


class Status(StrEnum):
    UP = "UP"
    DOWN = "DOWN"
    DEGRADED = "DEGRADED"
    STARTED = "STARTED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


# A heartbeat that says something is wrong is never proof that it is alive.
PROOF_OF_LIFE = frozenset({Status.UP, Status.DEGRADED, Status.COMPLETED})
FAILURES = frozenset({Status.DOWN, Status.FAILED})


def parse_status(value: str) -> Status:
    try:
        return Status(value.strip().upper())
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise ValueError(f"status must be one of {allowed}") from None


def exit_status_to_status(exit_status: int) -> Status:
    """Ping URL `/ping/{uuid}/{exit_status}`: 0 is success, anything else a failure."""
    return Status.COMPLETED if exit_status == 0 else Status.FAILED
