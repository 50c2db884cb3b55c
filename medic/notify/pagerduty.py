"""PagerDuty Events API v2: trigger on alert, resolve on recovery. PagerDuty owns the
escalation (SRE-10); Medic only opens and closes the incident.

The dedup_key is derived from the alert (`medic-alert-<id>`), so a trigger sent
twice opens one incident, and the resolve finds it. The client makes one attempt:
Medic's delivery engine does the retrying (1 s, 5 s, 30 s), not a sleeping worker.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx2
import pagerduty

from medic.config import Settings
from medic.core.durations import spoken_duration
from medic.core.links import web_url
from medic.net.tls import client_ssl_context
from medic.notify.message import Message, Outcome, Target

log = logging.getLogger(__name__)

SEVERITY_BY_PRIORITY = {
    "p1": "critical",
    "p2": "error",
    "p3": "warning",
    "p4": "info",
    "p5": "info",
}
MAX_SUMMARY = 1024
# An approval request is sent on the alert's own dedup_key: PagerDuty adds it to the
# open incident, with the link to the approval page, instead of opening another. An
# escalated playbook failure is an incident of its own: someone must act now.
TRIGGERS = ("alert.opened", "execution.approval_requested", "execution.escalated")
KINDS = (*TRIGGERS, "alert.resolved")


def dedup_key_for(alert_id: int) -> str:
    return f"medic-alert-{alert_id}"


def _dedup_key(message: Message) -> str | None:
    if message.kind == "execution.escalated" and message.execution is not None:
        return f"medic-execution-{message.execution.execution_id}"
    if message.alert is None:
        return None
    return str(message.opened_reference.get("dedup_key") or dedup_key_for(message.alert.alert_id))


class PagerDutySender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._verify = client_ssl_context(settings.medic_extra_ca_bundle)

    def send(self, target: Target, message: Message) -> Outcome:
        routing_key = target.config.get("routing_key") or self.settings.pagerduty_routing_key
        if not routing_key:
            return Outcome.refused("no PagerDuty routing key: set PAGERDUTY_ROUTING_KEY")
        dedup_key = _dedup_key(message) if message.kind in KINDS else None
        if dedup_key is None:
            return Outcome.refused(f"PagerDuty takes alerts, not {message.kind}")
        try:
            client = self._client(routing_key)
        except pagerduty.UrlError as exc:
            return Outcome.refused(f"PAGERDUTY_BASE_URL is not usable: {exc}")
        try:
            if message.kind in TRIGGERS:
                returned = client.trigger(
                    message.summary()[:MAX_SUMMARY],
                    message.service.heartbeat_name if message.service else "medic",
                    dedup_key=dedup_key,
                    severity=SEVERITY_BY_PRIORITY.get(
                        message.service.priority if message.service else "", "critical"
                    ),
                    payload=_payload(message),
                    custom_details=_details(message),
                    links=_links(message),
                )
            else:
                returned = client.send_event("resolve", dedup_key, **_resolution(message))
        except pagerduty.HttpError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status is not None and 400 <= status < 500 and status not in (408, 429):
                return Outcome.refused(f"PagerDuty refused the event: {exc}", status)
            return Outcome.failed(f"PagerDuty error: {exc}", status)
        except (pagerduty.Error, httpx2.HTTPError) as exc:
            return Outcome.failed(f"PagerDuty unreachable: {exc}")
        finally:
            client.close()
        return Outcome.sent(202, dedup_key=returned or dedup_key)

    def _client(self, routing_key: str) -> pagerduty.EventsApiV2Client:
        client = pagerduty.EventsApiV2Client(
            routing_key,
            base_url=self.settings.pagerduty_base_url.rstrip("/"),
            verify=self._verify,
        )
        client.timeout = self.settings.medic_notify_timeout_seconds
        # One attempt: no sleeping retries inside a worker thread (a 429 would be
        # retried without limit otherwise).
        client.retry = {429: 1}
        client.sleep_timer = 1
        client.max_network_attempts = 0
        return client


def _resolution(message: Message) -> dict[str, Any]:
    """What a resolve says besides its dedup_key: how long the service was down."""
    if message.downtime is None:
        return {}
    seconds = int(message.downtime.total_seconds())
    return {
        "payload": {
            "summary": message.summary()[:MAX_SUMMARY],
            "source": message.service.heartbeat_name if message.service else "medic",
            "severity": "info",
            "custom_details": {
                "downtime_seconds": seconds,
                "downtime": spoken_duration(message.downtime),
            },
        }
    }


def _payload(message: Message) -> dict[str, Any]:
    if message.service is None:
        return {}
    return {
        "component": message.service.heartbeat_name,
        "group": message.service.team,
        "class": str(message.details.get("problem") or "missed heartbeat"),
    }


def _details(message: Message) -> dict[str, Any]:
    details: dict[str, Any] = {"notification_id": message.notification_id}
    if message.service is not None:
        details.update(
            service=message.service.display_name,
            heartbeat_name=message.service.heartbeat_name,
            team=message.service.team,
            priority=message.service.priority,
            reason=message.service.state_reason,
            runbook=message.service.runbook,
        )
    if message.alert is not None:
        details.update(
            alert_id=message.alert.alert_id,
            since=message.alert.created_date.isoformat(),
            consecutive_failures=message.details.get("consecutive_failures"),
        )
    if message.execution is not None:
        details.update(
            execution_id=message.execution.execution_id,
            playbook=message.execution.playbook,
            execution_state=message.execution.state,
            execution_error=message.execution.error,
        )
    return details


def _links(message: Message) -> list[dict[str, str]]:
    links = []
    execution = message.execution
    if execution is not None and message.kind == "execution.approval_requested":
        if execution.url or execution.approval_url:
            href = execution.url or execution.approval_url
            links.append({"href": str(href), "text": "Approve or decline"})
    elif execution is not None and execution.url:
        links.append({"href": execution.url, "text": f"Execution #{execution.execution_id}"})
    if message.service_url:
        links.append({"href": message.service_url, "text": "Service in Medic"})
    runbook = message.service.runbook if message.service else None
    if runbook and web_url(runbook):
        links.append({"href": runbook, "text": "Runbook"})
    return links
