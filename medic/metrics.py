"""Prometheus metrics. No per-service label anywhere: cardinality stays bounded."""

from prometheus_client import Counter, Gauge, Histogram

HEARTBEATS = Counter("medic_heartbeats_total", "Heartbeats accepted, by status.", ["status"])
HTTP_REQUEST_DURATION = Histogram(
    "medic_http_request_duration_seconds",
    "HTTP request duration, by route template.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DB_QUERY_DURATION = Histogram(
    "medic_db_query_duration_seconds",
    "Database statement duration.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
DB_CONNECTION_ERRORS = Counter(
    "medic_db_connection_errors_total", "Failures to connect to or talk with the database."
)
AUTH_FAILURES = Counter(
    "medic_auth_failures_total", "Rejected API requests, by reason.", ["reason"]
)
RATE_LIMITED = Counter("medic_rate_limited_total", "Requests refused by a rate limit.", ["bucket"])
SCHEDULER_PASS_DURATION = Histogram(
    "medic_scheduler_pass_duration_seconds",
    "One scheduler pass: claim due services, apply verdicts, relay the outbox.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5),
)
# Alerting on "the scheduler stopped" needs the time of the last pass, not its duration.
SCHEDULER_LAST_PASS = Gauge(
    "medic_scheduler_last_pass_timestamp_seconds",
    "When this process's scheduler last finished a pass (Unix time); 0 before its first "
    "pass and in a process that runs no scheduler.",
)
NOTIFICATIONS = Counter("medic_notifications_total", "Notifications delivered, by kind.", ["kind"])
DELIVERIES = Counter(
    "medic_deliveries_total",
    "Delivery attempts, by target kind and result (sent, retrying, failed).",
    ["target_kind", "result"],
)
ALERT_NOTIFICATION_LATENCY = Histogram(
    "medic_alert_notification_latency_seconds",
    "From the instant a problem began (the missed deadline, the run's max duration, the "
    "failure report) to its alert's successful delivery, by target kind.",
    ["target_kind"],
    buckets=(0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600, 1800),
)
PLAYBOOK_EXECUTIONS = Counter(
    "medic_playbook_executions_total",
    "Playbook executions that ended, by playbook and status.",
    ["playbook", "status"],
)
PLAYBOOK_STEP_DURATION = Histogram(
    "medic_playbook_step_duration_seconds",
    "How long one playbook step ran, by step type.",
    ["type"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
# The agents' scripts (SRE-21), as their hosts report them. No host label: `script` is a
# name from the playbooks' agent steps (admin-written), `status` and `reason` are
# closed sets (medic.core.agents.RESULT_STATUSES, SKIP_REASONS + `other`).
AGENT_SCRIPT_EXECUTIONS = Counter(
    "medic_agent_script_executions_total",
    "Scripts run by agents on their hosts, by script and status (ok, failed, timeout, error).",
    ["script", "status"],
)
AGENT_SCRIPT_SKIPPED = Counter(
    "medic_agent_script_skipped_total",
    "Jobs an agent refused because its host does not allow the script, by script and reason.",
    ["script", "reason"],
)
