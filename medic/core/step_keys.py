"""The idempotency key of one step of one execution.

Steps run at least once: a step in flight when its worker died runs again once its
lease runs out (medic.playbooks.engine). A webhook step sends this key as
`Idempotency-Key` (a script gets it as MEDIC_IDEMPOTENCY_KEY), so the receiver can
tell a repeat from a new request. It is derived only from what the execution's row
keeps (its id, when it was requested, the step's position), so every attempt of the
step sends the same key and no other step or execution does: not even one of another
Medic whose execution ids overlap, since the request instant differs.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

# A fixed namespace: the same execution and step always give the same key.
NAMESPACE = uuid.UUID("5b0d7a52-58c4-4f55-9d2e-6a7c1e3f4d11")


def step_key(execution_id: int, requested_at: datetime, position: int) -> str:
    """A UUID (version 5) for step `position` (0-based) of the execution."""
    instant = requested_at if requested_at.tzinfo else requested_at.replace(tzinfo=UTC)
    micros = round(instant.timestamp() * 1_000_000)
    return str(uuid.uuid5(NAMESPACE, f"medic/{execution_id}/{micros}/{position}"))
