"""Asking the user, not the model, before a tool acts.

`execute_playbook`, `mute_service`, `create_maintenance_window` and `acknowledge_alert`
each take a parameter filled by a resolver (`Resolve`), never by the model: it is not
in the tool's input schema, and an argument of that name is refused like any unknown
one. The resolver asks the question through the protocol's elicitation, which the
client shows to its user and the model never sees nor answers:

* on a 2026-07-28 connection, as an `InputRequiredResult` the client answers and
  retries with (stateless HTTP included); on a 2025-11-25 connection, as an
  `elicitation/create` request, where there is a back-channel (stdio);
* when the client did not declare the elicitation capability (or, on a legacy
  stateless HTTP connection, cannot be reached), nothing is asked and the tool does
  what it did before: an execution then waits for a human in Slack.

A declined or dismissed question changes nothing and is audited as a refusal of the
action (medic.ops.confirmations).
"""

from __future__ import annotations

from mcp.server.mcpserver import Context, Elicit
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from medic.core.scopes import grants
from medic.mcp_server.backend import backend_of
from medic.ops import confirmations
from medic.ops.confirmations import Confirmable, RecordDeclined
from medic.ops.errors import MedicError

# The first protocol revision that carries elicitation in the tool call's own result.
INPUT_REQUIRED_VERSION = "2026-07-28"


class Confirmation(BaseModel):
    """What the user sees: the question (the elicitation's message) and one checkbox."""

    confirm: bool = Field(
        default=True, title="Confirm", description="Leave checked to go ahead; Decline to stop"
    )


class NotAsked(BaseModel):
    """The client cannot show a question (no elicitation capability, no back-channel)."""

    why: str


Outcome = Confirmation | NotAsked
Answer = Confirmation | NotAsked | Elicit[Confirmation]


def can_ask(ctx: Context) -> bool:
    """Whether this client can put a question to its user on this connection."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    if version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION):
        return True
    return bool(ctx.session.can_send_request)


def ask(ctx: Context, question: str) -> Answer:
    """A resolver's answer: the question to put to the user, or why it is not put (a
    key that may not act at all is refused by the operation, unasked). Resolvers are
    plain functions, run in a worker thread: checking a key may verify a hash."""
    if not can_ask(ctx):
        return NotAsked(why="the client does not support elicitation")
    try:
        scopes = backend_of(ctx).actor().scopes
    except MedicError:  # a revoked or unknown key: the tool body says so, as a tool error
        return NotAsked(why="the key is not valid")
    if not grants(scopes, "write"):
        return NotAsked(why="the key may not do this")
    return Elicit(question, Confirmation)


def confirmed(
    ctx: Context,
    answer: object,
    action: Confirmable,
    target_type: str,
    target_id: object,
) -> bool:
    """True when the user confirmed, False when nobody could be asked; a refusal is
    audited and raised as a tool error, and the action does not happen."""
    data = getattr(answer, "data", None)
    if isinstance(data, NotAsked):
        return False
    if isinstance(data, Confirmation) and data.confirm:
        return True
    choice = getattr(answer, "action", "decline")
    record = RecordDeclined.of(
        action=action,
        target_type=target_type,
        target_id=str(target_id)[:255],
        answer="cancel" if choice == "cancel" else "decline",
    )
    confirmations.record_declined(backend_of(ctx).context(), record)
    verb = "dismissed the question" if choice == "cancel" else "declined"
    raise ToolError(
        f"refused: your user {verb} ({action}); nothing changed. "
        "Do not retry unless they ask you to."
    )
