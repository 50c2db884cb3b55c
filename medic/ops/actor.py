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
    """`front_door` is one of api, slack, mcp, cli, dashboard, system."""

    name: str
    front_door: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    api_key_id: int | None = None

    def require(self, scope: str) -> None:
        if not grants(self.scopes, scope):
            raise Forbidden(
                f"this action needs the {scope!r} scope; {self.name!r} has "
                f"{', '.join(sorted(self.scopes)) or 'none'}"
            )


SYSTEM = Actor(name="medic", front_door="system", scopes=frozenset({"admin"}))


def cli_operator(name: str = "operator") -> Actor:
    """An operator on the server's own shell (`medic keys …`): trusted like an admin key."""
    return Actor(name=name, front_door="cli", scopes=frozenset({"admin"}))
