"""API key scopes, least privilege first, because keys leak (they sit in cron files, CI
and chat logs):

* `ingest`: post heartbeats and job signals, nothing else (what services and jobs get);
* `read`: read everything except capabilities (ping URLs, approval links);
* `write`: operate: what `read` and `ingest` can, plus register and update services,
  mute, acknowledge, maintenance, request executions;
* `admin`: configure trust and remediation: playbooks, secrets, teams and approvers,
  a service's team, notification targets, routing, keys.

`read` and `ingest` are side by side: a dashboard's key cannot fake liveness, and a
cron job's key cannot read the fleet.

`agent` stands apart (medic.core.agents): a host's `medic-agent` polls for its own jobs
and reports their results, nothing else. It is bound to one host, held alone, and no
other scope grants it, not even `admin`: only an agent key polls as an agent.
"""

SCOPES = ("ingest", "read", "write", "admin", "agent")
_GRANTS = {
    "ingest": frozenset({"ingest"}),
    "read": frozenset({"read"}),
    "write": frozenset({"ingest", "read", "write"}),
    "admin": frozenset({"ingest", "read", "write", "admin"}),
    "agent": frozenset({"agent"}),
}


def grants(held: list[str] | tuple[str, ...] | frozenset[str], required: str) -> bool:
    return any(required in _GRANTS.get(scope, ()) for scope in held)


def validate_scopes(scopes: list[str]) -> list[str]:
    if not scopes:
        raise ValueError("at least one scope is required (ingest, read, write, admin or agent)")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(
            f"unknown scope {unknown[0]!r}; scopes are ingest, read, write, admin and agent"
        )
    if "agent" in scopes and set(scopes) != {"agent"}:
        raise ValueError("the agent scope is held alone (an agent key does nothing else)")
    return sorted(set(scopes), key=SCOPES.index)
