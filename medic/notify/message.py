"""What every sender gets (a Message, a Target) and gives back (an Outcome).

A Message is a plain snapshot taken when the delivery is attempted, so senders never
touch the database, and the webhook body is documented in one place (`as_json`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from medic.core.durations import spoken_duration

# `details.resolution` of an alert.resolved that was not a recovery (docs/webhooks.md).
RETIREMENTS = ("deactivated", "deleted")


@dataclass(frozen=True)
class ServiceFacts:
    service_id: int
    heartbeat_name: str
    service_name: str | None
    team: str
    priority: str
    runbook: str | None
    state: str
    state_reason: str | None
    state_changed_at: datetime | None
    muted: bool

    @property
    def display_name(self) -> str:
        return self.service_name or self.heartbeat_name


@dataclass(frozen=True)
class AlertFacts:
    alert_id: int
    alert_name: str | None
    alert_cycle: int
    created_date: datetime
    closed_date: datetime | None
    active: bool
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None


@dataclass(frozen=True)
class WindowFacts:
    window_id: int
    name: str
    reason: str | None
    service_ids: list[int] | None
    ends_at: datetime | None


@dataclass(frozen=True)
class ExecutionFacts:
    """A playbook execution: what runs (or ran), on what, why, and how it ended."""

    execution_id: int
    playbook: str
    version: int
    description: str | None
    steps: list[str]
    requested_by: str
    front_door: str
    reason: str | None
    state: str
    approval: str
    approval_deadline: datetime | None
    decided_by: str | None = None
    # What the deadline does: "run" (timeout:Nm proceeds) or "cancel" (it expires).
    approval_on_deadline: str | None = None
    # A human must accept although the playbook says none or timeout (an AI asked).
    approval_forced: bool = False
    decided_at: datetime | None = None
    # The approval page (MEDIC_BASE_URL/approvals/{token}).
    approval_url: str | None = None
    error: str | None = None
    # The page a person opens to see it (medic.core.links.execution_page); None: none.
    url: str | None = None
    # What an Accept/Decline button carries besides the id and version, so a click
    # decides this request only (medic.notify.blocks.approvals). Not in webhook bodies.
    approval_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Message:
    kind: str
    notification_id: int
    created_at: datetime
    medic_url: str
    service: ServiceFacts | None = None
    alert: AlertFacts | None = None
    window: WindowFacts | None = None
    execution: ExecutionFacts | None = None
    # The team's Slack channel, else SLACK_CHANNEL_ID.
    slack_channel: str | None = None
    # For a recovery: what this target returned when the alert opened (Slack ts…).
    opened_reference: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    # For a recovery: how long the service was down (medic.notify.plain.downtime).
    downtime: timedelta | None = None
    # For a problem: playbooks whose trigger matches the service (Slack's Run buttons).
    playbooks: tuple[str, ...] = ()

    @property
    def is_problem(self) -> bool:
        return self.kind in ("alert.opened", "alert.repeated")

    @property
    def retired(self) -> bool:
        """A resolve because the service was deactivated or deleted, not a recovery."""
        return self.details.get("resolution") in RETIREMENTS

    @property
    def service_url(self) -> str | None:
        if self.service is None or self.details.get("resolution") == "deleted":
            return None
        return f"{self.medic_url}/v2/services/{self.service.service_id}"

    def summary(self) -> str:
        """One line a person understands without context."""
        if self.kind.startswith("maintenance."):
            # A deleted window is gone by the time its end is told: its name travels along.
            name = self.window.name if self.window else self.details.get("window", "maintenance")
            verb = "started" if self.kind == "maintenance.started" else "ended"
            return f"Maintenance window {name!r} {verb}"
        name = self.service.display_name if self.service else "unknown service"
        if self.kind == "alert.opened":
            reason = self.service.state_reason if self.service else None
            return f"{name} is DOWN" + (f": {reason}" if reason else "")
        if self.kind == "alert.repeated":
            reason = self.service.state_reason if self.service else None
            repeat = self.details.get("repeat")
            return f"{name} is still DOWN, not acknowledged (reminder {repeat})" + (
                f": {reason}" if reason else ""
            )
        if self.kind == "alert.resolved":
            if self.retired:
                return f"{name}: alert resolved, {self.details.get('reason')}"
            if self.downtime is not None:
                return f"{name} recovered: up again after {spoken_duration(self.downtime)} down"
            return f"{name} recovered"
        if self.kind == "execution.approval_requested" and self.execution is not None:
            return (
                f"Approval needed: run playbook {self.execution.playbook!r} on {name}"
                f" (requested by {self.execution.requested_by})"
            )
        if self.kind == "execution.approval_closed" and self.execution is not None:
            closure = self.details.get("closure") or "closed"
            return f"Approval request: playbook {self.execution.playbook!r} on {name} {closure}"
        if self.kind in ("execution.failed", "execution.escalated") and self.execution:
            verb = "failed and needs a human" if self.kind == "execution.escalated" else "failed"
            return f"Playbook {self.execution.playbook!r} on {name} {verb}"
        if self.kind == "agent.script_skipped":
            return (
                f"Agent on {self.details.get('host')} refused script"
                f" {self.details.get('script')!r} ({self.details.get('reason')}):"
                f" playbook {self.details.get('playbook')!r} for {name}"
            )
        if self.kind == "execution.refused":
            return f"Playbook {self.details.get('playbook')!r} on {name} refused: runaway loop"
        return f"{name}: {self.kind}"

    def as_json(self) -> dict[str, Any]:
        """The webhook body, documented field by field in docs/webhooks.md."""
        return {
            "event": self.kind,
            "notification_id": self.notification_id,
            "occurred_at": self.created_at.isoformat(),
            "summary": self.summary(),
            "service": _plain(self.service),
            "alert": _plain(self.alert),
            "maintenance_window": _plain(self.window),
            "execution": _plain(self.execution, exclude=("approval_token",)),
            "links": {"medic": self.medic_url, "service": self.service_url},
            "details": self.details,
            "downtime_seconds": (
                None if self.downtime is None else int(self.downtime.total_seconds())
            ),
        }


def _plain(facts: object | None, exclude: tuple[str, ...] = ()) -> dict[str, Any] | None:
    if facts is None:
        return None
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in asdict(facts).items()  # type: ignore[call-overload]
        if key not in exclude
    }


@dataclass(frozen=True)
class Target:
    name: str
    kind: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    # Worth another attempt later (a 5xx, a timeout); False for a refusal or a 4xx.
    retryable: bool = True
    reference: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def sent(cls, status_code: int | None = None, **reference: Any) -> Outcome:
        return cls(ok=True, status_code=status_code, reference=reference)

    @classmethod
    def refused(cls, error: str, status_code: int | None = None) -> Outcome:
        return cls(ok=False, status_code=status_code, error=error, retryable=False)

    @classmethod
    def failed(cls, error: str, status_code: int | None = None) -> Outcome:
        return cls(ok=False, status_code=status_code, error=error, retryable=True)


class Sender(Protocol):
    """Deliver one message to one target; never raise for a delivery failure."""

    def send(self, target: Target, message: Message) -> Outcome: ...
