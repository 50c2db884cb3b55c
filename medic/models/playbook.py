"""Playbooks (SRE-18): a named playbook and every version of its definition.

A change never edits a version: it adds the next one and moves `current_version`, so
an execution that pinned version N keeps running exactly what it started with.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from medic.models.columns import JSON_DOCUMENT, NEVER_REUSE_IDS, utcnow


class Playbook(SQLModel, table=True):
    __tablename__ = "playbooks"
    __table_args__ = NEVER_REUSE_IDS

    playbook_id: int | None = Field(default=None, primary_key=True)
    # An archived playbook is renamed `<name>~archived-<id>` (medic.ops.playbooks), so
    # its name is free to be applied again; hence the room beyond a name's 63 characters.
    name: str = Field(max_length=128, unique=True)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    current_version: int = 1
    # A disabled playbook is kept (and shown) but never triggered or run.
    enabled: bool = True
    # Deleting a playbook archives it: never triggered or run again, its versions and
    # executions kept and readable.
    archived_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PlaybookVersion(SQLModel, table=True):
    __tablename__ = "playbook_versions"
    __table_args__ = (
        UniqueConstraint("playbook_id", "version", name="uq_playbook_versions_version"),
    )

    version_id: int | None = Field(default=None, primary_key=True)
    playbook_id: int = Field(
        sa_column=Column(ForeignKey("playbooks.playbook_id", ondelete="CASCADE"), nullable=False)
    )
    version: int
    # The YAML exactly as applied (comments included), and its validated canonical form.
    source_yaml: str = Field(sa_column=Column(Text, nullable=False))
    definition: dict[str, Any] = Field(sa_column=Column(JSON_DOCUMENT, nullable=False))
    content_hash: str = Field(max_length=64)
    created_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
