"""v2 response shapes (what /openapi.json documents)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class HeartbeatOut(BaseModel):
    heartbeat_id: int
    service_id: int
    heartbeat_name: str
    service_name: str | None = None
    time: datetime
    status: str
    run_id: str | None
    message: str | None = None


class DeletedName(BaseModel):
    """What a delete answers for a row named by its name (a team, target, policy…)."""

    name: str


class DeletedWindow(BaseModel):
    window_id: int
