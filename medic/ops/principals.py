"""Principals as stored, and the names people read for them.

Decisions compare principals (medic.ops.actor.Actor.principal): `key:<id>`,
`slack:<team>/<user>`, `system`, `hook:<playbook>`. An execution stores its requester's
principal in `requested_by`, so "the requester cannot approve" compares what a name
cannot imitate; every view shows the name for it instead, as before.
"""

from __future__ import annotations

from sqlmodel import Session

from medic.models import ApiKey
from medic.ops.actor import SYSTEM


def display_name(session: Session, principal: str) -> str:
    """A key's name (key names are unique and never change), a Slack user as the audit
    log names them (`slack:<user>`, which Slack messages render as a mention), Medic as
    `medic`. Anything else (a signed hook, a name stored before principals were) is
    shown as it is."""
    kind, _, rest = principal.partition(":")
    if principal == "system":
        return SYSTEM.name
    if kind == "key" and rest.isdigit():
        key = session.get(ApiKey, int(rest))
        return key.name if key is not None else principal
    if kind == "slack" and rest:
        return f"slack:{rest.rpartition('/')[2]}"
    return principal
