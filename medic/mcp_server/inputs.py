"""Argument types shared by the tools: each says what it means and what a good value
looks like, because the description is all a model sees of it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from medic.ops import fields

ServiceName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        description="the service's heartbeat name, as list_services shows it "
        "(e.g. 'nightly-backup'); case-insensitive",
    ),
]
Duration = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        description="how long, e.g. '30m', '1h', '1h30m', '2d' (at most 366 days)",
    ),
]
Reason = Annotated[
    fields.Reason,
    Field(description="why, in a sentence; recorded in the audit log and shown to people"),
]
ExecutionId = Annotated[
    int, Field(ge=1, le=2**31 - 1, description="execution_id, as execute_playbook returned it")
]
AlertId = Annotated[int, Field(ge=1, le=2**31 - 1, description="alert_id, from list_alerts")]
Offset = Annotated[int, Field(ge=0, description="skip this many items (paging)")]


def page_size(default: int, most: int) -> Any:
    """A page size argument (use as `Annotated[int, page_size(20, 200)]`)."""
    return Field(ge=1, le=most, description=f"at most this many items (default {default})")
