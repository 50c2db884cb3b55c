"""Opsgenie Alert API: create an alert when one opens, close it on recovery. Opsgenie
owns the escalation, as PagerDuty does (medic.notify.pagerduty).

Target config: ``api_key`` (an API integration's key, a secret), ``region`` (``us``,
the default, or ``eu``: ``OPSGENIE_API_BASE_URL`` or ``OPSGENIE_EU_API_BASE_URL``) and
``tags`` (optional). The alert's ``alias`` is the incident's dedup key
(``medic-alert-<id>``, the same as PagerDuty's): Opsgenie folds a create sent twice into
one alert, and the close finds it by alias
(``POST /v2/alerts/{alias}/close?identifierType=alias``). Opsgenie answers 202 and
processes requests asynchronously; answers map like webhooks' (medic.notify.http).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from medic.config import Settings
from medic.notify import http
from medic.notify.message import Message, Outcome, Target
from medic.notify.pagerduty import dedup_key_for
from medic.notify.plain import cut, facts, links, one_line

# Opsgenie's field limits; longer values are cut by Opsgenie or refused.
MESSAGE_MAX = 130
ALIAS_MAX = 512
DESCRIPTION_MAX = 15_000
DETAIL_MAX = 8_000
MAX_TAGS = 20
CREATES = ("alert.opened", "execution.escalated")
PRIORITIES = {"p1": "P1", "p2": "P2", "p3": "P3", "p4": "P4", "p5": "P5"}


def alias_for(message: Message) -> str | None:
    """The alias this message creates or closes: what the opening answered, else the
    alert's dedup key; an escalated playbook failure is an alert of its own."""
    if message.kind == "execution.escalated" and message.execution is not None:
        return f"medic-execution-{message.execution.execution_id}"
    if message.alert is None:
        return None
    return str(message.opened_reference.get("alias") or dedup_key_for(message.alert.alert_id))


class OpsgenieSender:
    """Create or close an Opsgenie alert, one attempt per call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, target: Target, message: Message) -> Outcome:
        key = target.config.get("api_key")
        if not isinstance(key, str) or not key:
            return Outcome.refused(f"opsgenie target {target.name!r}: config needs an 'api_key'")
        alias = alias_for(message)
        if alias is None or message.kind not in (*CREATES, "alert.resolved"):
            return Outcome.refused(f"Opsgenie takes alerts, not {message.kind}")
        region = target.config.get("region") or "us"
        base = (
            self.settings.opsgenie_eu_api_base_url
            if region == "eu"
            else self.settings.opsgenie_api_base_url
        ).rstrip("/")
        if message.kind in CREATES:
            url, body = f"{base}/v2/alerts", create_body(message, alias, target.config)
        else:
            url = f"{base}/v2/alerts/{quote(alias, safe='')}/close?identifierType=alias"
            body = {"source": "Medic", "note": cut(one_line(message.summary()), DETAIL_MAX)}
        headers = {
            "Authorization": f"GenieKey {key}",
            "Content-Type": "application/json",
            "User-Agent": http.USER_AGENT,
        }
        outcome = http.post(self.settings, url, content=json.dumps(body).encode(), headers=headers)
        if outcome.ok:
            return Outcome.sent(outcome.status_code, alias=alias)
        if message.kind == "alert.resolved" and outcome.status_code == 404:
            # Closed or deleted in Opsgenie already: nothing left to close.
            return Outcome.sent(404, alias=alias, note="already gone in Opsgenie")
        return outcome


def create_body(message: Message, alias: str, config: dict[str, Any]) -> dict[str, Any]:
    """The Create Alert request: plain-text fields (Opsgenie shows them as text)."""
    service = message.service
    body: dict[str, Any] = {
        "message": cut(one_line(message.summary()), MESSAGE_MAX),
        "alias": alias[:ALIAS_MAX],
        "description": cut(description(message), DESCRIPTION_MAX),
        "source": "Medic",
        "priority": PRIORITIES.get(service.priority if service else "", "P1"),
        "details": {label: cut(one_line(value), DETAIL_MAX) for label, value in facts(message)}
        | {label: url for label, url in links(message)},
    }
    if service is not None:
        body["entity"] = cut(service.heartbeat_name, 512)
    tags = config.get("tags")
    if isinstance(tags, list) and tags:
        body["tags"] = [str(tag) for tag in tags][:MAX_TAGS]
    return body


def description(message: Message) -> str:
    lines = [one_line(message.summary()), ""]
    lines += [f"{label}: {one_line(value)}" for label, value in facts(message)]
    lines += [f"{label}: {url}" for label, url in links(message)]
    return "\n".join(lines)
