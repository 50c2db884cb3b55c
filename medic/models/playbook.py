"""Playbooks (SRE-18): a named playbook and every version of its definition.

A change never edits a version: it adds the next one and moves `current_version`, so
an execution that pinned version N keeps running exactly what it started with.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from medic.models.columns import JSON_DOCUMENT, utcnow


class Playbook(SQLModel, table=True):
    __tablename__ = "playbooks"

    playbook_id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=63, unique=True)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    current_version: int = 1
    # A disabled playbook is kept (and shown) but never triggered or run.
    enabled: bool = True
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
