"""The playbooks an alert offers to run (Slack's "Run playbook" buttons): enabled ones
whose trigger matches the alert's service (medic.core.playbook_offers).

A click is hostile input: `offered_for_alert` checks again, against the database,
that the alert is open and the playbook it names is one it offers, before the door
asks for a run through the normal request (medic.ops.executions.execute_playbook),
where scopes and approvals apply.
"""

from __future__ import annotations

from functools import lru_cache

from sqlmodel import Session, col, select

from medic.core.playbook_definition import PlaybookDefinition
from medic.core.playbook_offers import trigger_matches
from medic.core.playbook_parsing import parse_playbook
from medic.models import Alert, Playbook, PlaybookVersion, Service
from medic.ops.errors import Conflict, InvalidInput, NotFound

# Slack shows at most this many Run buttons on one alert.
MAX_OFFERED = 3


@lru_cache(maxsize=256)
def _definition(source_yaml: str) -> PlaybookDefinition:
    return parse_playbook(source_yaml)


def offered_playbooks(session: Session, service: Service) -> list[str]:
    """Names of the enabled playbooks whose trigger matches `service`, by name."""
    return offered_among(enabled_playbooks(session), service)


def enabled_playbooks(session: Session) -> list[tuple[str, str]]:
    """(name, current source) of every enabled playbook, by name: what a batch of
    alerts reads once and matches each service against (offered_among)."""
    return list(
        session.exec(
            select(Playbook.name, PlaybookVersion.source_yaml)
            .join(PlaybookVersion, col(PlaybookVersion.playbook_id) == Playbook.playbook_id)
            .where(col(Playbook.enabled))
            .where(col(Playbook.archived_at).is_(None))
            .where(col(PlaybookVersion.version) == Playbook.current_version)
            .order_by(col(Playbook.name))
        ).all()
    )


def offered_among(enabled: list[tuple[str, str]], service: Service) -> list[str]:
    """The names in `enabled` whose trigger matches `service`, at most MAX_OFFERED."""
    offered = []
    for name, source in enabled:
        try:
            trigger = _definition(source).trigger
        except ValueError:
            continue  # a stored version that no longer parses offers nothing
        if trigger is not None and trigger_matches(
            trigger, service.heartbeat_name, service.service_name
        ):
            offered.append(name)
    return offered[:MAX_OFFERED]


def offered_for_alert(session: Session, alert_id: int, playbook: str) -> Service:
    """The alert's service, if the alert is open and offers `playbook`; else why not."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert with id {alert_id}")
    if not alert.active:
        raise Conflict(f"alert {alert_id} is closed: its service recovered")
    service = session.get(Service, alert.service_id)
    if service is None:
        raise NotFound(f"alert {alert_id}'s service is gone")
    if playbook not in offered_playbooks(session, service):
        raise InvalidInput(
            f"playbook {playbook!r} is not offered for {service.heartbeat_name!r}: its "
            "trigger does not match the service (or it is disabled or deleted)"
        )
    return service
