"""What a step runs with (`StepContext`) and what it reports back (`StepResult`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StepContext:
    """The execution a step belongs to. `secrets` holds the already revealed values of
    the secrets the playbook references (`medic.ops.secrets.reveal`); it is left out of
    repr() so a logged context never shows one."""

    execution_id: int
    service_name: str | None
    heartbeat_name: str | None
    alert_id: int | None
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    # The same on every attempt of this step (medic.core.step_keys); None outside a run.
    idempotency_key: str | None = None


@dataclass(frozen=True)
class StepResult:
    """The outcome of one step. `summary` is one line for the audit log and Slack;
    `output` is the captured output or response body, capped, secrets redacted. Neither
    ever carries a secret value. `status_code` is the HTTP status of a webhook step, or
    the exit status of a script step (None when there is none)."""

    ok: bool
    summary: str
    status_code: int | None = None
    output: str | None = None
