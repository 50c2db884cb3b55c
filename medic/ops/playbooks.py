"""Playbook definitions (SRE-18): apply YAML, list, read any version, enable, delete.

Applying is idempotent: the definition is validated (medic.core.playbook_definition)
and a new version is stored only when its content hash differs from the current
version's, so re-applying the same file, reformatted or re-commented, changes nothing.
Versions are never edited; an execution pins the version it started with.

Nothing secret is stored or audited: a definition only names `${secrets.NAME}`, and
the audit log records names, versions and hashes, never the YAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from medic.core.playbook_definition import (
    PlaybookDefinition,
    PlaybookError,
    canonical,
    content_hash,
)
from medic.core.playbook_parsing import parse_playbook
from medic.db import Database
from medic.models import Execution, Playbook, PlaybookVersion
from medic.models.columns import utcnow
from medic.ops import audit
from medic.ops.actor import Actor
from medic.ops.errors import InvalidInput, NotFound
from medic.ops.named import find, insert
from medic.ops.paging import fetch_page

WHAT = "playbook"
_MAX_VERSION = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Applied:
    """What `apply_playbook` did: `created` a new playbook, `changed` its definition
    (a new version), or neither (the content equals the current version)."""

    playbook: Playbook
    version: PlaybookVersion
    created: bool
    changed: bool


class PlaybookChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool


class PlaybookView(BaseModel):
    """A playbook as listed: what its current version triggers on and how it asks."""

    playbook_id: int
    name: str
    description: str | None
    current_version: int
    enabled: bool
    trigger: dict[str, Any] | None
    approval: str
    steps: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, playbook: Playbook, current: PlaybookVersion) -> PlaybookView:
        definition = current.definition
        return cls(
            playbook_id=playbook.playbook_id,  # type: ignore[arg-type]
            name=playbook.name,
            description=playbook.description,
            current_version=playbook.current_version,
            enabled=playbook.enabled,
            trigger=definition.get("trigger"),
            approval=definition.get("approval", "required"),
            steps=len(definition.get("steps", [])),
            created_at=playbook.created_at,
            updated_at=playbook.updated_at,
        )


class VersionSummary(BaseModel):
    version: int
    content_hash: str
    created_by: str
    created_at: datetime
    current: bool

    @classmethod
    def of(cls, playbook: Playbook, version: PlaybookVersion) -> VersionSummary:
        return cls(
            version=version.version,
            content_hash=version.content_hash,
            created_by=version.created_by,
            created_at=version.created_at,
            current=version.version == playbook.current_version,
        )


class PlaybookDetail(PlaybookView):
    """The playbook and one version of it (the current one unless asked otherwise):
    its YAML exactly as applied and its validated canonical definition."""

    version: int
    content_hash: str
    source_yaml: str
    definition: dict[str, Any]
    version_created_by: str
    version_created_at: datetime

    @classmethod
    def of_version(
        cls, playbook: Playbook, current: PlaybookVersion, shown: PlaybookVersion
    ) -> PlaybookDetail:
        return cls(
            **PlaybookView.of(playbook, current).model_dump(),
            version=shown.version,
            content_hash=shown.content_hash,
            source_yaml=shown.source_yaml,
            definition=shown.definition,
            version_created_by=shown.created_by,
            version_created_at=shown.created_at,
        )


def validate(yaml_text: str) -> PlaybookDefinition:
    """The definition, or InvalidInput naming each problem's line and field."""
    try:
        return parse_playbook(yaml_text)
    except PlaybookError as exc:
        raise InvalidInput(str(exc)) from None


def pinned_definition(session: Session, execution: Execution) -> PlaybookDefinition:
    """The definition an execution started with: a later version never changes it."""
    version = session.exec(
        select(PlaybookVersion)
        .where(PlaybookVersion.playbook_id == execution.playbook_id)
        .where(PlaybookVersion.version == execution.version)
    ).one()
    return parse_playbook(version.source_yaml)


def _version(session: Session, playbook: Playbook, number: int) -> PlaybookVersion:
    row = None
    if 1 <= number <= _MAX_VERSION:
        row = session.exec(
            select(PlaybookVersion).where(
                PlaybookVersion.playbook_id == playbook.playbook_id,
                PlaybookVersion.version == number,
            )
        ).first()
    if row is None:
        raise NotFound(f"playbook {playbook.name!r} has no version {number}")
    return row


def _audit_details(version: PlaybookVersion, definition: PlaybookDefinition) -> dict[str, Any]:
    return {
        "name": definition.name,
        "version": version.version,
        "content_hash": version.content_hash,
        "approval": str(definition.approval),
        "steps": [f"{step.name} ({step.type})" for step in definition.steps],
    }


def apply_playbook(db: Database, actor: Actor, yaml_text: str) -> Applied:
    """Create the playbook the YAML names, or add a version when its content changed."""
    actor.require("write")
    definition = validate(yaml_text)
    digest = content_hash(definition)
    now = utcnow()
    with db.session() as session:
        playbook = session.exec(
            select(Playbook).where(Playbook.name == definition.name).with_for_update()
        ).first()
        created = playbook is None
        if playbook is None:
            playbook = Playbook(
                name=definition.name,
                description=definition.description,
                current_version=1,
                created_at=now,
                updated_at=now,
            )
            insert(session, playbook, WHAT)
            number = 1
        else:
            current = _version(session, playbook, playbook.current_version)
            if current.content_hash == digest:
                return Applied(playbook, current, created=False, changed=False)
            number = playbook.current_version + 1
            playbook.current_version = number
            playbook.description = definition.description
            playbook.updated_at = now
            session.add(playbook)
        version = PlaybookVersion(
            playbook_id=playbook.playbook_id,  # type: ignore[arg-type]
            version=number,
            source_yaml=yaml_text,
            definition=canonical(definition),
            content_hash=digest,
            created_by=actor.name,
            created_at=now,
        )
        session.add(version)
        session.flush()
        audit.record(
            session,
            actor,
            "playbook.create" if created else "playbook.update",
            "playbook",
            playbook.playbook_id,
            previous_version=None if created else number - 1,
            **_audit_details(version, definition),
        )
    return Applied(playbook, version, created=created, changed=True)


def list_playbooks(
    db: Database, actor: Actor, limit: int | None = None, offset: int = 0
) -> tuple[list[tuple[Playbook, PlaybookVersion]], int]:
    """A page of playbooks by name, each with its current version."""
    actor.require("read")
    with db.session() as session:
        playbooks, total = fetch_page(
            session, select(Playbook), [col(Playbook.name)], limit, offset
        )
        wanted = {p.playbook_id: p.current_version for p in playbooks}
        versions = {
            v.playbook_id: v
            for v in session.exec(
                select(PlaybookVersion).where(col(PlaybookVersion.playbook_id).in_(list(wanted)))
            )
            if wanted[v.playbook_id] == v.version
        }
    return [(p, versions[p.playbook_id]) for p in playbooks], total


def get_playbook(
    db: Database, actor: Actor, name: str, version: int | None = None
) -> PlaybookDetail:
    """The playbook with its current version, or with `version` when given."""
    actor.require("read")
    with db.session() as session:
        playbook = find(session, Playbook, name, WHAT)
        current = _version(session, playbook, playbook.current_version)
        shown = current if version is None else _version(session, playbook, version)
    return PlaybookDetail.of_version(playbook, current, shown)


def list_versions(
    db: Database, actor: Actor, name: str, limit: int | None = None, offset: int = 0
) -> tuple[list[VersionSummary], int]:
    """A page of the playbook's versions, newest first."""
    actor.require("read")
    with db.session() as session:
        playbook = find(session, Playbook, name, WHAT)
        statement = select(PlaybookVersion).where(
            PlaybookVersion.playbook_id == playbook.playbook_id
        )
        rows, total = fetch_page(
            session, statement, [col(PlaybookVersion.version).desc()], limit, offset
        )
    return [VersionSummary.of(playbook, row) for row in rows], total


def set_enabled(db: Database, actor: Actor, name: str, enabled: bool) -> PlaybookView:
    """Enable or disable a playbook; a disabled one is kept but never runs."""
    actor.require("write")
    with db.session() as session:
        playbook = find(session, Playbook, name, WHAT, lock=True)
        before = playbook.enabled
        if before != enabled:
            playbook.enabled = enabled
            playbook.updated_at = utcnow()
            session.add(playbook)
            audit.record(
                session,
                actor,
                "playbook.enable" if enabled else "playbook.disable",
                "playbook",
                playbook.playbook_id,
                name=playbook.name,
            )
        current = _version(session, playbook, playbook.current_version)
    return PlaybookView.of(playbook, current)


def delete_playbook(db: Database, actor: Actor, name: str) -> Playbook:
    """Delete a playbook and all its versions."""
    actor.require("write")
    with db.session() as session:
        playbook = find(session, Playbook, name, WHAT, lock=True)
        audit.record(
            session,
            actor,
            "playbook.delete",
            "playbook",
            playbook.playbook_id,
            name=playbook.name,
            versions=playbook.current_version,
        )
        session.delete(playbook)
    return playbook
