"""Playbook definitions (SRE-18): apply YAML, list, read any version, enable, delete.

Applying is idempotent: the definition is validated (medic.core.playbook_definition)
and a new version is stored only when its content hash differs from the current
version's, so re-applying the same file, reformatted or re-commented, changes nothing.
Versions are never edited; an execution pins the version it started with.

Nothing secret is stored or audited: a definition only names `${secrets.NAME}`, and
the audit log records names, versions and hashes, never the YAML.

An apply also reports what the steps rely on that this Medic lacks (a secret not set,
a script not registered), each naming its line: a warning, or a refusal when `strict`.
The run checks again, so a warning never lets a step run without what it needs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from sqlmodel import Session, col, select

from medic.core import executions as rules
from medic.core.playbook_definition import (
    PlaybookDefinition,
    PlaybookError,
    canonical,
    content_hash,
)
from medic.core.playbook_parsing import parse_playbook
from medic.core.playbook_references import references, unresolved
from medic.models import Execution, Playbook, PlaybookVersion, Secret
from medic.models.columns import utcnow
from medic.ops import audit
from medic.ops.approval_requests import close_request
from medic.ops.errors import Conflict, InvalidInput, NotFound
from medic.ops.named import find, insert
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page
from medic.playbooks.scripts import script_path

WHAT = "playbook"
# An archived playbook's name: `<name>~archived-<id>`. No definition's name has `~`.
ARCHIVED_MARK = "~archived-"
# What deleting or disabling a playbook cancels: what waits for a person or a step.
CANCELLED_WITH_PLAYBOOK = ("pending_approval", "waiting")
_MAX_VERSION = 2**31 - 1


class PlaybookChanges(BaseModel):
    """What a partial update may change (`PATCH /v2/playbooks/{name}`): whether it runs."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool


class ApplyPlaybook(Command):
    """A playbook's YAML: creates the playbook it names, or adds a version when its
    content changed. Kept exactly as sent (never stripped): it is stored as applied."""

    model_config = ConfigDict(str_strip_whitespace=False)

    source_yaml: str = Field(description="the playbook definition, YAML text")
    strict: bool = Field(
        default=False,
        description="refuse the playbook when a step uses a secret not set or a script "
        "not registered (else: applied, with warnings)",
    )
    _definition: PlaybookDefinition = PrivateAttr()

    @model_validator(mode="after")
    def _valid(self) -> ApplyPlaybook:
        """Every problem, naming its line and field (medic.core.playbook_definition)."""
        try:
            self._definition = parse_playbook(self.source_yaml)
        except PlaybookError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def definition(self) -> PlaybookDefinition:
        return self._definition

    def audit_target(self) -> tuple[str | None, object]:
        return "playbook", self._definition.name


class PlaybookCommand(Command):
    """A command about one playbook, by name."""

    name: str

    def audit_target(self) -> tuple[str | None, object]:
        return "playbook", self.name


class EnablePlaybook(PlaybookCommand):
    pass


class DisablePlaybook(PlaybookCommand):
    """A disabled playbook is kept but never runs."""


class DeletePlaybook(PlaybookCommand):
    """Archive the playbook: it never runs again, its history stays readable."""


class GetPlaybook(PlaybookCommand):
    """The playbook with its current version, or with `version` when given."""

    version: int | None = None


class ListPlaybooks(Command):
    archived: bool = Field(
        default=False, description="false: the live playbooks; true: the deleted (archived) ones"
    )
    limit: int | None = Field(default=None, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)


class ListPlaybookVersions(PlaybookCommand):
    limit: int | None = Field(default=None, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)


class PlaybookView(BaseModel):
    """A playbook as listed: what its current version triggers on and how it asks."""

    playbook_id: int
    name: str
    description: str | None
    current_version: int
    enabled: bool
    archived_at: datetime | None = Field(
        default=None, description="when it was deleted: archived, renamed, never run again"
    )
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
            archived_at=playbook.archived_at,
            trigger=definition.get("trigger"),
            approval=definition.get("approval", "required"),
            steps=len(definition.get("steps", [])),
            created_at=playbook.created_at,
            updated_at=playbook.updated_at,
        )


class Applied(PlaybookView):
    """What an apply did: `created` a new playbook, `changed` its definition (a new
    `version`), or neither (the content equals the current version); `warnings`: what
    its steps use that this Medic lacks now, each naming its line."""

    version: int
    created: bool
    changed: bool
    warnings: list[str] = Field(default_factory=list)


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


@operation("playbook.apply", scope="admin", audit="playbook.apply")
def apply_playbook(call: Call, command: ApplyPlaybook) -> Applied:
    """Create the playbook the YAML names, or add a version when its content changed.
    Audited as `playbook.create` or `playbook.update`; an unchanged apply is not."""
    definition = command.definition
    digest = content_hash(definition)
    now = utcnow()
    session = call.session
    warnings = _missing(call, command.source_yaml)
    if warnings and command.strict:
        raise InvalidInput(
            "refused (strict): this Medic lacks what the steps use:\n" + "\n".join(warnings)
        )
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
            call.unchanged()
            return _applied(playbook, current, created=False, changed=False, warnings=warnings)
        number = playbook.current_version + 1
        playbook.current_version = number
        playbook.description = definition.description
        playbook.updated_at = now
        session.add(playbook)
    version = PlaybookVersion(
        playbook_id=playbook.playbook_id,  # type: ignore[arg-type]
        version=number,
        source_yaml=command.source_yaml,
        definition=canonical(definition),
        content_hash=digest,
        created_by=call.actor.name,
        created_at=now,
    )
    session.add(version)
    session.flush()
    call.audit(
        "playbook",
        playbook.playbook_id,
        as_action="playbook.create" if created else "playbook.update",
        previous_version=None if created else number - 1,
        **_audit_details(version, definition),
    )
    return _applied(playbook, version, created=created, changed=True, warnings=warnings)


def _missing(call: Call, source_yaml: str) -> list[str]:
    """The secrets not set and scripts not registered that the steps use. Scripts are
    looked for in this process's MEDIC_SCRIPTS_DIR, as the workers' should be."""
    found = references(source_yaml)
    if not found:
        return []
    names = {ref.name for ref in found if ref.kind == "secret"}
    known = set(
        call.session.exec(select(Secret.name).where(col(Secret.name).in_(sorted(names)))).all()
    )
    return unresolved(
        found,
        secret_exists=known.__contains__,
        script_exists=lambda name: script_path(call.settings, name) is not None,
        secrets_off=bool(names) and call.settings.secrets_key_bytes is None,
    )


def _applied(
    playbook: Playbook,
    version: PlaybookVersion,
    *,
    created: bool,
    changed: bool,
    warnings: list[str],
) -> Applied:
    view = PlaybookView.of(playbook, version)
    return Applied(
        **view.model_dump(),
        version=version.version,
        created=created,
        changed=changed,
        warnings=warnings,
    )


@operation("playbook.list", scope="read")
def list_playbooks(call: Call, query: ListPlaybooks) -> tuple[list[PlaybookView], int]:
    """A page of playbooks by name, each as its current version defines it."""
    session = call.session
    statement = select(Playbook).where(
        col(Playbook.archived_at).is_not(None)
        if query.archived
        else col(Playbook.archived_at).is_(None)
    )
    playbooks, total = fetch_page(
        session, statement, [col(Playbook.name)], query.limit, query.offset
    )
    wanted = {p.playbook_id: p.current_version for p in playbooks}
    versions = {
        v.playbook_id: v
        for v in session.exec(
            select(PlaybookVersion).where(col(PlaybookVersion.playbook_id).in_(list(wanted)))
        )
        if wanted[v.playbook_id] == v.version
    }
    return [PlaybookView.of(p, versions[p.playbook_id]) for p in playbooks], total


@operation("playbook.get", scope="read")
def get_playbook(call: Call, query: GetPlaybook) -> PlaybookDetail:
    """The playbook with its current version, or with `version` when given."""
    session = call.session
    playbook = find(session, Playbook, query.name, WHAT)
    current = _version(session, playbook, playbook.current_version)
    shown = current if query.version is None else _version(session, playbook, query.version)
    return PlaybookDetail.of_version(playbook, current, shown)


@operation("playbook.versions", scope="read")
def list_versions(call: Call, query: ListPlaybookVersions) -> tuple[list[VersionSummary], int]:
    """A page of the playbook's versions, newest first."""
    session = call.session
    playbook = find(session, Playbook, query.name, WHAT)
    statement = select(PlaybookVersion).where(PlaybookVersion.playbook_id == playbook.playbook_id)
    rows, total = fetch_page(
        session, statement, [col(PlaybookVersion.version).desc()], query.limit, query.offset
    )
    return [VersionSummary.of(playbook, row) for row in rows], total


@operation("playbook.enable", scope="admin", audit="playbook.enable")
def enable(call: Call, command: EnablePlaybook) -> PlaybookView:
    """Let a disabled playbook run again; enabling an enabled one changes nothing."""
    return _set_enabled(call, command.name, True)


@operation("playbook.disable", scope="admin", audit="playbook.disable")
def disable(call: Call, command: DisablePlaybook) -> PlaybookView:
    """Keep the playbook but never run it; disabling a disabled one changes nothing."""
    return _set_enabled(call, command.name, False)


def _set_enabled(call: Call, name: str, enabled: bool) -> PlaybookView:
    session = call.session
    playbook = find(session, Playbook, name, WHAT, lock=True)
    _refuse_archived(playbook)
    if playbook.enabled == enabled:
        call.unchanged()
    else:
        playbook.enabled = enabled
        playbook.updated_at = utcnow()
        session.add(playbook)
        cancelled = [] if enabled else cancel_unfinished(call, playbook, "disabled")
        call.audit(
            "playbook", playbook.playbook_id, name=playbook.name, cancelled_executions=cancelled
        )
    current = _version(session, playbook, playbook.current_version)
    return PlaybookView.of(playbook, current)


def _refuse_archived(playbook: Playbook) -> None:
    if playbook.archived_at is not None:
        raise Conflict(
            f"playbook {playbook.name!r} was deleted (archived); it never runs again. "
            "Apply its YAML to create a new playbook"
        )


def archived_name(playbook: Playbook) -> str:
    """`<name>~archived-<id>`: a name no definition can take (`~`), unique by the id,
    under which the archived playbook stays readable."""
    return f"{playbook.name}{ARCHIVED_MARK}{playbook.playbook_id}"


def cancel_unfinished(call: Call, playbook: Playbook, why: str) -> list[int]:
    """Cancel the playbook's executions that wait for a decision (pending_approval) or
    for their next step (waiting), each audited as `execution.cancel`; their ids.
    A step in flight (running) finishes, and the engine stops nothing mid-step."""
    session, now = call.session, utcnow()
    waiting = session.exec(
        select(Execution)
        .where(Execution.playbook_id == playbook.playbook_id)
        .where(col(Execution.state).in_(CANCELLED_WITH_PLAYBOOK))
        .with_for_update()
    ).all()
    for execution in waiting:
        was_asking = execution.state == "pending_approval"
        execution.state = rules.move(execution.state, "cancelled")
        execution.finished_at, execution.updated_at, execution.wake_at = now, now, None
        execution.error = f"cancelled: the playbook was {why} by {call.actor.name}"
        session.add(execution)
        if was_asking:
            actor = call.actor
            close_request(session, execution, "cancelled", now, actor.name, actor.front_door)
            call.db.wake_scheduler(session)
        audit.record(
            session,
            call.actor,
            "execution.cancel",
            "execution",
            execution.execution_id,
            outcome="cancelled",
            playbook=playbook.name,
            reason=f"playbook {why}",
        )
    return [e.execution_id for e in waiting if e.execution_id is not None]


@operation("playbook.delete", scope="admin", audit="playbook.delete")
def delete_playbook(call: Call, command: DeletePlaybook) -> PlaybookView:
    """Delete a playbook: it is archived, never triggered or run again, and renamed
    `<name>~archived-<id>` (its name can be applied again); its versions and executions
    stay readable. Its executions waiting for approval or for a step are cancelled.
    What it was."""
    session = call.session
    playbook = find(session, Playbook, command.name, WHAT, lock=True)
    _refuse_archived(playbook)
    deleted = PlaybookView.of(playbook, _version(session, playbook, playbook.current_version))
    cancelled = cancel_unfinished(call, playbook, "deleted")
    name, now = playbook.name, utcnow()
    playbook.name = archived_name(playbook)
    playbook.enabled = False
    playbook.archived_at = playbook.updated_at = now
    session.add(playbook)
    call.audit(
        "playbook",
        playbook.playbook_id,
        name=name,
        archived_as=playbook.name,
        versions=playbook.current_version,
        cancelled_executions=cancelled,
    )
    return deleted
