"""Starting playbooks from alerts (SRE-25): a playbook whose trigger matches a down
service, once it has missed `consecutive_failures` deadlines, runs once per alert.

Checked on every scheduler pass, but cheap when nothing can match: one query for the
enabled playbooks with a trigger, and only then one for the services that are down.
A unique index on (playbook, alert) makes the start happen once however many
schedulers run; a refusal by the circuit breaker is audited once per alert and
process.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from medic.config import Settings
from medic.core.playbook_definition import PlaybookDefinition
from medic.core.playbook_parsing import parse_playbook
from medic.db import Database
from medic.models import Alert, Execution, Playbook, PlaybookVersion, Service
from medic.ops.actor import SYSTEM
from medic.ops.errors import MedicError
from medic.ops.executions import ExecutePlaybook, execute_playbook
from medic.ops.operation import Context

log = logging.getLogger(__name__)


class Triggers:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._definitions: dict[tuple[int, int], PlaybookDefinition] = {}
        self._refused: set[tuple[int, int]] = set()

    def fire(self, now: datetime) -> int:
        """Start every due (playbook, alert) pair; how many started."""
        started = 0
        for playbook_name, playbook_id, service, alert_id in self._due():
            if (playbook_id, alert_id) in self._refused:
                continue
            reason = f"alert {alert_id} on {service.heartbeat_name}: {service.state_reason or ''}"
            try:
                command = ExecutePlaybook.of(
                    playbook=playbook_name,
                    service=service.service_id,
                    reason=reason[:1000],
                    alert_id=alert_id,
                )
                execute_playbook(Context(self.db, SYSTEM), command)
                started += 1
            except IntegrityError:
                pass  # another scheduler started it first
            except MedicError as exc:
                self._refused.add((playbook_id, alert_id))
                log.warning(
                    "playbook %s not started for alert %s: %s", playbook_name, alert_id, exc
                )
        return started

    def _due(self) -> list[tuple[str, int, Service, int]]:
        with self.db.session() as session:
            playbooks = [
                (playbook, definition)
                for playbook, version in session.exec(
                    select(Playbook, PlaybookVersion)
                    .join(PlaybookVersion, col(PlaybookVersion.playbook_id) == Playbook.playbook_id)
                    .where(col(Playbook.enabled))
                    .where(col(PlaybookVersion.version) == Playbook.current_version)
                ).all()
                if (definition := self._definition(playbook, version)).trigger is not None
            ]
            if not playbooks:
                return []
            down = session.exec(
                select(Service, Alert.alert_id)
                .join(Alert, col(Alert.service_id) == Service.service_id)
                .where(col(Alert.active))
                .where(col(Service.active))
            ).all()
            already = {
                (row.playbook_id, row.alert_id)
                for row in session.exec(
                    select(Execution).where(
                        col(Execution.alert_id).in_([alert_id for _, alert_id in down])
                    )
                ).all()
            }
        due = []
        for service, alert_id in down:
            for playbook, definition in playbooks:
                trigger = definition.trigger
                assert trigger is not None and playbook.playbook_id is not None
                if (playbook.playbook_id, alert_id) in already:
                    continue
                if not (
                    trigger.matches(service.heartbeat_name)
                    or (service.service_name and trigger.matches(service.service_name))
                ):
                    continue
                if service.consecutive_failures >= trigger.consecutive_failures:
                    due.append((playbook.name, playbook.playbook_id, service, alert_id))
        return due

    def _definition(self, playbook: Playbook, version: PlaybookVersion) -> PlaybookDefinition:
        key = (version.playbook_id, version.version)
        if key not in self._definitions:
            self._definitions[key] = parse_playbook(version.source_yaml)
        return self._definitions[key]
