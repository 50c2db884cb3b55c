"""A person who was asked to confirm an action and said no.

The MCP door asks its user (through the protocol's elicitation, which the model
cannot answer) before it mutes, opens a maintenance window, acknowledges or requests
a playbook run. A refusal changes nothing, and is kept in the audit log as a refusal
of the action it would have been, by the calling key, at the door it came through.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from medic.ops.operation import Call, Command, operation

# The actions a door asks its user to confirm first (their operations' audit actions).
Confirmable = Literal["execution.start", "service.mute", "maintenance.create", "alert.acknowledge"]


class RecordDeclined(Command):
    """`action` was not confirmed: the user declined, or dismissed the question."""

    action: Confirmable
    target_type: str | None = Field(default=None, max_length=32)
    target_id: str | None = Field(default=None, max_length=255)
    answer: Literal["decline", "cancel"]

    def audit_target(self) -> tuple[str | None, object]:
        return self.target_type, self.target_id


@operation("confirmation.declined", scope="write", audit="confirmation.declined")
def record_declined(call: Call, command: RecordDeclined) -> None:
    """The entry is the refused action's own (e.g. `service.mute`, outcome `refused`)."""
    verb = "declined" if command.answer == "decline" else "dismissed"
    call.audit(
        command.target_type,
        command.target_id,
        as_action=command.action,
        outcome="refused",
        reason=f"the user {verb} the confirmation; nothing changed",
        confirmation=command.answer,
    )
