"""Health checks, Prometheus metrics and the OpenAPI document.

`/health*`, `/metrics` and `/v1/healthcheck/network` need no key. `/health` answers 503
as soon as one component is unhealthy. Metrics never carry a per-service label.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from medic.api import health
from medic.app import create_app
from medic.config import Settings
from medic.models import Alert, Service
from medic.process import MedicProcess

REDIS_URL = "redis://127.0.0.1:6379/0"
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"
UNREACHABLE_POSTGRES = "postgresql://postgres@127.0.0.1:1/medic"


@contextmanager
def app_with(make_settings: Callable[..., Settings], **overrides: Any) -> Iterator[TestClient]:
    """A Medic of its own, with these settings, served in-process."""
    settings = make_settings(medic_rate_limiter_type="memory", **overrides)
    runtime = MedicProcess(settings, rate_limit_prefix=f"medic-test-{uuid.uuid4().hex[:8]}")
    previous = health.active_alerts.medic
    try:
        with TestClient(create_app(medic=runtime)) as client:
            yield client
    finally:
        health.active_alerts.medic = previous
        runtime.db.dispose()


def samples(client: TestClient) -> list[Sample]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return [s for family in text_string_to_metric_families(response.text) for s in family.samples]


def value(client: TestClient, name: str, **labels: str) -> float | None:
    """The value of one sample, or None when it is not exposed."""
    for sample in samples(client):
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return None


@contextmanager
def fake_slack(ok: bool) -> Iterator[str]:
    """A Slack Web API stand-in answering auth.test; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = json.dumps({"ok": ok} if self.path == "/api/auth.test" else {}).encode()
            self.send_response(200 if self.path == "/api/auth.test" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    finally:
        server.shutdown()
        server.server_close()


# --- health ----------------------------------------------------------------------------------


def test_health_reports_every_component(client: TestClient, medic: MedicProcess) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    components = body["components"]
    assert set(components) == {"database", "broker", "slack", "pagerduty"}
    assert components["database"] == {"status": "healthy", "dialect": medic.db.dialect}
    assert components["broker"] == {"status": "healthy", "type": "in-process"}
    assert components["slack"] == {"status": "not_configured"}
    assert components["pagerduty"] == {"status": "not_configured"}


def test_health_with_redis_and_integrations_configured(make_settings) -> None:
    with (
        fake_slack(ok=True) as slack_url,
        app_with(
            make_settings,
            redis_url=REDIS_URL,
            slack_api_token=f"xoxb-{uuid.uuid4().hex}",
            slack_api_base_url=slack_url,
            pagerduty_routing_key="R0UT1NGK3Y",
        ) as client,
    ):
        response = client.get("/health")
    assert response.status_code == 200, response.text
    components = response.json()["components"]
    assert components["broker"] == {"status": "healthy", "type": "redis"}
    assert components["slack"] == {"status": "healthy"}
    assert components["pagerduty"] == {"status": "healthy"}


def test_health_is_503_when_the_broker_is_unreachable(make_settings) -> None:
    with app_with(make_settings, redis_url=CLOSED_PORT_REDIS) as client:
        response = client.get("/health")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unhealthy"
        assert body["components"]["broker"]["status"] == "unhealthy"
        assert body["components"]["broker"]["type"] == "redis"
        assert body["components"]["database"]["status"] == "healthy"
        # Readiness only needs the database; liveness only the process.
        assert client.get("/health/ready").status_code == 200
        assert client.get("/health/live").status_code == 200


def test_health_is_503_when_slack_rejects_the_token(make_settings) -> None:
    with (
        fake_slack(ok=False) as slack_url,
        app_with(
            make_settings,
            slack_api_token=f"xoxb-{uuid.uuid4().hex}",
            slack_api_base_url=slack_url,
        ) as client,
    ):
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["components"]["slack"]["status"] == "unhealthy"


def test_unreachable_database_is_unhealthy_not_ready_and_counted(make_settings) -> None:
    with app_with(make_settings, database_url=UNREACHABLE_POSTGRES) as client:
        errors_before = value(client, "medic_db_connection_errors_total") or 0.0
        response = client.get("/health")
        assert response.status_code == 503
        assert response.json()["components"]["database"]["status"] == "unhealthy"
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert client.get("/health/live").status_code == 200
        errors_after = value(client, "medic_db_connection_errors_total")
        assert errors_after is not None
        assert errors_after >= errors_before + 2


def test_probes_need_no_key(client: TestClient) -> None:
    live = client.get("/health/live")
    assert live.status_code == 200
    assert live.json() == {"status": "alive"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    network = client.get("/v1/healthcheck/network")
    assert network.status_code == 204
    assert network.content == b""
    assert client.get("/metrics").status_code == 200


# --- metrics ---------------------------------------------------------------------------------


def test_heartbeats_total_counts_by_status(client: TestClient, register, write_headers) -> None:
    service = register("nightly-backup")
    up_before = value(client, "medic_heartbeats_total", status="UP") or 0.0
    failed_before = value(client, "medic_heartbeats_total", status="FAILED") or 0.0

    response = client.post(
        "/v2/heartbeats", json={"heartbeat_name": "nightly-backup"}, headers=write_headers
    )
    assert response.status_code == 201
    assert client.get(f"/ping/{service['uuid']}").status_code == 200
    assert client.get(f"/ping/{service['uuid']}/fail").status_code == 200

    assert value(client, "medic_heartbeats_total", status="UP") == up_before + 2
    assert value(client, "medic_heartbeats_total", status="FAILED") == failed_before + 1


def test_refused_heartbeats_are_not_counted(client: TestClient, register, write_headers) -> None:
    register("retired", active=False)
    before = value(client, "medic_heartbeats_total", status="UP") or 0.0
    response = client.post(
        "/v2/heartbeats", json={"heartbeat_name": "retired"}, headers=write_headers
    )
    assert response.status_code == 400
    assert client.get(f"/ping/{uuid.uuid4()}").status_code == 404
    assert (value(client, "medic_heartbeats_total", status="UP") or 0.0) == before


def test_alerts_active_is_read_from_the_database(
    client: TestClient, register, medic: MedicProcess
) -> None:
    first = register("nightly-backup")
    second = register("hourly-export")
    assert value(client, "medic_alerts_active") == 0
    with medic.db.session() as session:
        session.add(Alert(alert_name="nightly-backup is down", service_id=first["service_id"]))
    assert value(client, "medic_alerts_active") == 1
    with medic.db.session() as session:
        session.add(Alert(alert_name="hourly-export is down", service_id=second["service_id"]))
        session.add(Alert(alert_name="an old one", service_id=second["service_id"], active=False))
    assert value(client, "medic_alerts_active") == 2


def test_scheduler_overdue_is_how_long_the_oldest_due_deadline_has_waited(
    client: TestClient, register, medic: MedicProcess
) -> None:
    """Read from the database, so a stalled scheduler shows on any API replica's scrape
    (the stalled-scheduler rule in deploy/prometheus/medic-rules.yml)."""
    service = register("nightly-backup")
    assert value(client, "medic_scheduler_overdue_seconds") == 0
    with medic.db.session() as session:
        row = session.get(Service, service["service_id"])
        assert row is not None
        row.next_due_at = datetime.now(UTC) - timedelta(minutes=10)
        session.add(row)
    overdue = value(client, "medic_scheduler_overdue_seconds")
    assert overdue is not None and overdue >= 600


def test_http_request_duration_is_labelled_by_route_template(client: TestClient, register) -> None:
    service = register("nightly-backup")
    client.get("/health/live")
    client.get(f"/ping/{service['uuid']}/start")
    client.get("/no/such/page")
    assert value(
        client,
        "medic_http_request_duration_seconds_count",
        method="GET",
        route="/health/live",
        status="200",
    )
    assert value(
        client,
        "medic_http_request_duration_seconds_count",
        method="GET",
        route="/ping/{uuid}/start",
        status="200",
    )
    assert value(
        client,
        "medic_http_request_duration_seconds_count",
        method="GET",
        route="unmatched",
        status="404",
    )
    buckets = [s for s in samples(client) if s.name == "medic_http_request_duration_seconds_bucket"]
    assert buckets


def test_routes_included_under_a_prefix_are_labelled_with_the_full_template(
    client: TestClient, read_headers
) -> None:
    assert client.get("/v2/alerts", headers=read_headers).status_code == 200
    assert client.get("/alerts", headers=read_headers).status_code == 200
    assert client.get("/v1/alerts", headers=read_headers).status_code == 200
    assert client.get("/v2/services/12345", headers=read_headers).status_code == 404
    routes = {
        s.labels["route"]
        for s in samples(client)
        if s.name == "medic_http_request_duration_seconds_count"
    }
    assert {"/v2/alerts", "/alerts", "/v1/alerts", "/v2/services/{service_id}"} <= routes
    assert "/services/{service_id}" not in routes
    assert not any("12345" in route for route in routes)


def test_db_metrics_are_exposed(client: TestClient, register) -> None:
    before = value(client, "medic_db_query_duration_seconds_count")
    assert before is not None
    register("nightly-backup")
    after = value(client, "medic_db_query_duration_seconds_count")
    assert after is not None and after > before
    assert value(client, "medic_db_query_duration_seconds_sum") is not None
    assert value(client, "medic_db_connection_errors_total") is not None


def test_auth_failures_are_counted_by_reason(client: TestClient, read_headers) -> None:
    def failures(reason: str) -> float:
        return value(client, "medic_auth_failures_total", reason=reason) or 0.0

    missing, invalid, scope = failures("missing"), failures("invalid"), failures("scope")
    assert client.get("/v2/services").status_code == 401
    assert client.get("/v2/services", headers={"X-API-Key": "medic_nope"}).status_code == 401
    assert client.get("/v2/audit", headers=read_headers).status_code == 403
    assert failures("missing") == missing + 1
    assert failures("invalid") == invalid + 1
    assert failures("scope") == scope + 1
    assert any(s.name == "medic_auth_failures_total" for s in samples(client))


def test_no_metric_label_names_a_service(client: TestClient, register, write_headers) -> None:
    service = register("secret-service-name", service_name="secret-service-name")
    secrets = {"secret-service-name", service["uuid"]}
    client.post(
        "/v2/heartbeats", json={"heartbeat_name": "secret-service-name"}, headers=write_headers
    )
    client.post(f"/v2/heartbeat/{service['service_id']}/start", json={}, headers=write_headers)
    for suffix in ("", "/start", "/fail", "/0", "/3", "/999"):
        client.post(f"/ping/{service['uuid']}{suffix}", content=b"secret-service-name")
    client.get(
        "/v2/heartbeats", params={"heartbeat_name": "secret-service-name"}, headers=write_headers
    )
    client.get(f"/v2/services/{service['service_id']}", headers=write_headers)

    every = samples(client)
    assert any(s.name == "medic_heartbeats_total" for s in every)
    leaks = [
        (s.name, s.labels)
        for s in every
        for label in s.labels.values()
        if any(secret in label for secret in secrets)
    ]
    assert leaks == []
    routes = {s.labels.get("route") for s in every if "route" in s.labels}
    assert "/ping/{uuid}" in routes
    assert "/v2/services/{service_id}" in routes


# --- OpenAPI ---------------------------------------------------------------------------------


def test_openapi_documents_every_route_with_a_summary(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Medic"
    paths = document["paths"]
    # app.routes holds included routers as one node each; iter_route_contexts flattens them
    # into every route with its full path.
    routes = [
        r
        for r in iter_route_contexts(client.app.routes)
        if isinstance(r.original_route, APIRoute) and r.include_in_schema
    ]
    assert len(routes) > 40
    missing = []
    for route in routes:
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None or not operation.get("summary"):
                missing.append(f"{method} {route.path_format}")
    assert missing == []
    for path in ("/ping/{uuid}", "/ping/{uuid}/start", "/v2/services", "/health"):
        assert path in paths
    for method in ("get", "head", "post"):
        assert method in paths["/ping/{uuid}/{exit_status}"]
    operation_ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_docs_are_served(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text
    assert "swagger" in response.text.lower()
