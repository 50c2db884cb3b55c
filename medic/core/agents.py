"""The Medic agent's rules (SRE-21), pure: host names, what a job may say, how long
Medic waits for it, and the bounded label sets of the agent metrics.

A host runs one agent, authenticated by a key of the `agent` scope bound to that host
(medic.core.scopes). The agent long-polls for jobs; each job names a script the host
must have in its own allow-list, or the agent refuses it and reports it skipped.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$")
# The agent's poll is its heartbeat: its service is watched like any other.
SERVICE_PREFIX = "agent-"
DEFAULT_ALERT_MINUTES = 2
MAX_WAIT_SECONDS = 60
# How long a queued job waits for its agent to take it before the step fails: two
# poll cycles, so an agent that is merely between polls always gets it.
PICKUP_SECONDS = 90
# After the agent took a job: the script's own timeout, plus this for the report to
# arrive (the agent retries a failed report for about half a minute).
REPORT_MARGIN_SECONDS = 60
MAX_OUTPUT_CHARS = 64 * 1024
MAX_MESSAGE_CHARS = 1000

JOB_STATES = ("queued", "running", "succeeded", "failed", "skipped", "expired", "cancelled")
FINAL_JOB_STATES = frozenset({"succeeded", "failed", "skipped", "expired", "cancelled"})
# What an agent may report, and the `status` label of medic_agent_script_executions_total.
RESULT_STATUSES = ("ok", "failed", "timeout", "error")
# The `reason` label of medic_agent_script_skipped_total; anything else is `other`.
SKIP_REASONS = (
    "invalid_name",
    "not_registered",
    "outside_allow_list",
    "not_executable",
    "unsafe_permissions",
    "invalid_job",
)


def clean_host(value: str) -> str:
    """A host name as agents are known by: lowercase DNS-like labels, at most 63
    characters, so `agent-<host>` is a valid service name and a safe metric-free label."""
    host = value.strip().lower()
    if not HOST.fullmatch(host):
        raise ValueError(
            "must be a host name: lowercase letters, digits, '.' and '-', 1 to 63 characters,"
            " starting and ending with a letter or digit"
        )
    return host


def service_name(host: str) -> str:
    return f"{SERVICE_PREFIX}{host}"


def skip_reason(value: object) -> str:
    """The reason label for what an agent reported: one of SKIP_REASONS, else `other`."""
    return value if isinstance(value, str) and value in SKIP_REASONS else "other"


def pickup_deadline(queued_at: datetime) -> datetime:
    return queued_at + timedelta(seconds=PICKUP_SECONDS)


def report_deadline(started_at: datetime, timeout_seconds: int) -> datetime:
    return started_at + timedelta(seconds=timeout_seconds + REPORT_MARGIN_SECONDS)


def job_deadline(
    state: str, queued_at: datetime, started_at: datetime | None, timeout_seconds: int
) -> datetime | None:
    """When Medic stops waiting for a job in `state` (None once it is settled)."""
    if state == "queued":
        return pickup_deadline(queued_at)
    if state == "running" and started_at is not None:
        return report_deadline(started_at, timeout_seconds)
    return None


def clip(text: str | None, limit: int) -> str | None:
    """At most `limit` characters, keeping the end (an output's tail says how it ended)."""
    if text is None or len(text) <= limit:
        return text
    return "…" + text[-(limit - 1) :]
