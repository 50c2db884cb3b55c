"""Which playbooks an alert offers to run: those whose trigger matches the service by
its heartbeat name or its display name (the trigger's pattern, medic.core.playbook_definition).
A person may run one before the trigger's failure count would start it."""

from __future__ import annotations

from medic.core.playbook_definition import Trigger


def trigger_matches(trigger: Trigger, heartbeat_name: str, service_name: str | None) -> bool:
    return trigger.matches(heartbeat_name) or bool(service_name and trigger.matches(service_name))
