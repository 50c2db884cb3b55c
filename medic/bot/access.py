"""Who a Slack user is to Medic, and whether they may change things.

Anyone in the workspace may look (read scope). Changing things (mute, unmute,
acknowledge, maintenance, run a playbook) needs the user to be in
MEDIC_SLACK_OPERATORS, or that list to be empty. Accepting or declining a playbook
execution is a matter for the approvers (the team's, and MEDIC_SLACK_APPROVERS), which
the operations layer checks itself. The operations layer sees the user as
`slack:<user id>`, so the audit log names the person, not the bot, and decides on the
principal `slack:<team id>/<user id>` (the ids Slack signed, never a name).

A Slack user never holds more than `write`: configuring trust (playbooks, secrets, teams
and approvers, targets, routing, keys) is an admin key's business, never a chat's.
"""

from __future__ import annotations

from typing import Any

from medic.config import Settings
from medic.ops.actor import Actor


def may_operate(settings: Settings, user_id: str) -> bool:
    operators = settings.medic_slack_operators
    return not operators or user_id in operators


def actor_for(settings: Settings, user_id: str, team_id: str | None = None) -> Actor:
    scopes = {"write"} if may_operate(settings, user_id) else {"read"}
    return _slack_actor(user_id, team_id, scopes)


def _slack_actor(user_id: str, team_id: str | None, scopes: set[str]) -> Actor:
    return Actor(
        name=f"slack:{user_id}",
        front_door="slack",
        scopes=frozenset(scopes),
        slack_user_id=user_id,
        slack_team_id=team_id or None,
    )


def team_of(body: dict[str, Any]) -> str | None:
    """The workspace id of an interaction payload (`user.team_id`, else `team.id`)."""
    user, team = body.get("user") or {}, body.get("team") or {}
    return str(user.get("team_id") or team.get("id") or "") or None


def refusal(settings: Settings, what: str) -> str:
    """The explanation a non-operator gets, naming who can help."""
    operators = ", ".join(f"<@{user}>" for user in settings.medic_slack_operators[:5])
    more = " …" if len(settings.medic_slack_operators) > 5 else ""
    return (
        f":no_entry: Only Medic operators may {what} from Slack. "
        f"Ask one of them ({operators}{more}), or an admin to add you to MEDIC_SLACK_OPERATORS."
    )


def decider_for(user_id: str, team_id: str | None = None) -> Actor:
    """The clicking user as an Accept/Decline decider. Whether they may decide is the
    approver list's business (checked by `executions.approve` and `executions.decline`),
    not the operators'."""
    return _slack_actor(user_id, team_id, {"write"})
