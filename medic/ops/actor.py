"""Who is acting, and through which front door. Every operation takes one."""

from dataclasses import dataclass, field
from typing import Literal

from medic.core.scopes import grants
from medic.ops.errors import Forbidden

FRONT_DOORS = ("api", "cli", "dashboard", "mcp", "slack", "system")
FrontDoor = Literal["api", "cli", "dashboard", "mcp", "slack", "system"]
# What an HTTP client may say it is (header X-Medic-Client), so the audit log names the
# door a person used: `medic service mute` is the CLI even though it speaks HTTP.
CLIENT_DOORS = frozenset({"cli"})


@dataclass(frozen=True, slots=True)
class Actor:
    """`front_door` is one of api, slack, mcp, cli, dashboard, system.

    `name` is for people to read (the audit log, Slack, the approval page). Decisions
    compare `principal`, which a name can never imitate: an API key is `key:<id>` (key
    names cannot contain ':'), a Slack user `slack:<team>/<user>` (the workspace and user
    ids Slack signed), Medic itself `system`."""

    name: str
    front_door: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    api_key_id: int | None = None
    slack_user_id: str | None = None
    slack_team_id: str | None = None
    # The one host an `agent`-scope key polls for (medic.core.agents); None otherwise.
    agent_host: str | None = None

    @property
    def principal(self) -> str:
        if self.api_key_id is not None:
            return f"key:{self.api_key_id}"
        if self.slack_user_id is not None:
            return slack_principal(self.slack_team_id, self.slack_user_id)
        if self.front_door == "system":
            return "system"
        # Medic's own doors without a key name these actors themselves, never from a
        # caller's input: a signed hook (`hook:<playbook>`), anonymous v1 heartbeats, the
        # operator on the server's shell.
        return self.name if ":" in self.name else f"{self.front_door}:{self.name}"

    def require(self, scope: str) -> None:
        if not grants(self.scopes, scope):
            raise Forbidden(
                f"this action needs the {scope!r} scope; {self.name!r} has "
                f"{', '.join(sorted(self.scopes)) or 'none'}"
            )


def slack_principal(team_id: str | None, user_id: str) -> str:
    """`slack:<team>/<user>`, or `slack:<user>` when Slack named no workspace."""
    return f"slack:{team_id}/{user_id}" if team_id else f"slack:{user_id}"


SYSTEM = Actor(name="medic", front_door="system", scopes=frozenset({"admin"}))


def cli_operator(name: str = "operator") -> Actor:
    """An operator on the server's own shell (`medic keys …`): trusted like an admin key."""
    return Actor(name=name, front_door="cli", scopes=frozenset({"admin"}))
