"""Prometheus metrics. No per-service label anywhere: cardinality stays bounded."""

from prometheus_client import Counter, Histogram

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
NOTIFICATIONS = Counter("medic_notifications_total", "Notifications delivered, by kind.", ["kind"])
DELIVERIES = Counter(
    "medic_deliveries_total",
    "Delivery attempts, by target kind and result (sent, retrying, failed).",
    ["target_kind", "result"],
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
