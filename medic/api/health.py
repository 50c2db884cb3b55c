"""Health and metrics: for load balancers, Kubernetes probes and Prometheus. No key needed."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily
from pydantic import BaseModel, Field
from sqlalchemy import text

from medic.api.auth import get_medic
from medic.ops.alerts import count_active
from medic.ops.backlog import oldest_overdue
from medic.process import MedicProcess

router = APIRouter(tags=["health"])
_SLACK_CACHE_SECONDS = 60.0
_slack_checked: dict[str, tuple[float, dict[str, Any]]] = {}


def _database(medic: MedicProcess) -> dict[str, Any]:
    try:
        with medic.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "healthy", "dialect": medic.db.dialect}
    except Exception as exc:
        return {"status": "unhealthy", "error": type(exc).__name__}


def _broker(medic: MedicProcess) -> dict[str, Any]:
    url = medic.settings.redis_url
    if not url or url.startswith("amqp"):
        return {"status": "healthy", "type": "rabbitmq" if url else "in-process"}
    import redis  # only a Medic on Redis pays for the client (about 7 MB)

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
        return {"status": "healthy", "type": "redis"}
    except (redis.RedisError, OSError) as exc:
        return {"status": "unhealthy", "type": "redis", "error": type(exc).__name__}


def _slack(medic: MedicProcess) -> dict[str, Any]:
    """Calls auth.test at most once a minute when a token is configured."""
    token = medic.settings.slack_api_token
    if not token:
        return {"status": "not_configured"}
    cached = _slack_checked.get(token)
    if cached and time.monotonic() - cached[0] < _SLACK_CACHE_SECONDS:
        return cached[1]
    import httpx  # with its command line (rich, pygments): only a Medic with Slack needs it

    try:
        reply = httpx.post(
            medic.settings.slack_api_base_url + "auth.test",
            headers={"Authorization": f"Bearer {token}"},
            timeout=3,
        )
        ok = reply.status_code == 200 and reply.json().get("ok") is True
        result = {"status": "healthy" if ok else "unhealthy"}
    except (httpx.HTTPError, ValueError) as exc:
        result = {"status": "unhealthy", "error": type(exc).__name__}
    _slack_checked[token] = (time.monotonic(), result)
    return result


def _pagerduty(medic: MedicProcess) -> dict[str, Any]:
    """PagerDuty's Events API has no health call; a routing key is all that can be checked."""
    return {"status": "healthy" if medic.settings.pagerduty_routing_key else "not_configured"}


class Health(BaseModel):
    status: Literal["healthy", "unhealthy"]
    components: dict[str, dict[str, Any]] = Field(
        description="database, broker, slack, pagerduty: each with its status"
    )


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: dict[str, Any]


@router.get(
    "/health",
    response_model=Health,
    summary="Every component's health; 503 when one is unhealthy",
)
def health(medic: MedicProcess = Depends(get_medic)) -> JSONResponse:
    components = {
        "database": _database(medic),
        "broker": _broker(medic),
        "slack": _slack(medic),
        "pagerduty": _pagerduty(medic),
    }
    healthy = all(c["status"] != "unhealthy" for c in components.values())
    body = {"status": "healthy" if healthy else "unhealthy", "components": components}
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/health/live", summary="Liveness: the process answers")
async def live() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/health/ready", response_model=Readiness, summary="Readiness: the database answers")
def ready(medic: MedicProcess = Depends(get_medic)) -> JSONResponse:
    database = _database(medic)
    ok = database["status"] == "healthy"
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "database": database},
        status_code=200 if ok else 503,
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


class ActiveAlertsCollector:
    """`medic_alerts_active` and `medic_scheduler_overdue_seconds` are read from the
    database at scrape time, so they are right after restarts and agree across replicas
    (and the scheduler's backlog shows even where its own process is not scraped)."""

    def __init__(self) -> None:
        self.medic: MedicProcess | None = None

    def collect(self) -> Any:
        gauge = GaugeMetricFamily("medic_alerts_active", "Open alerts.")
        overdue = GaugeMetricFamily(
            "medic_scheduler_overdue_seconds",
            "How long the oldest due deadline or check has waited for a scheduler pass; "
            "stays near 0 while a scheduler runs.",
        )
        if self.medic is not None:
            try:
                gauge.add_metric([], count_active(self.medic.db))
                now = datetime.now(UTC)
                oldest = oldest_overdue(self.medic.db, now)
                overdue.add_metric([], _seconds_since(oldest, now))
            except Exception:
                return
        yield gauge
        yield overdue


def _seconds_since(instant: datetime | None, now: datetime) -> float:
    if instant is None:
        return 0.0
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return max(0.0, (now - instant).total_seconds())


active_alerts = ActiveAlertsCollector()
REGISTRY.register(active_alerts)
