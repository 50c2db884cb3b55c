"""Configuration history: the before/after of every change to a configured object."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from medic.models.columns import BIG_ID, JSON_DOCUMENT, NEVER_REUSE_IDS, utcnow


class ConfigChange(SQLModel, table=True):
    __tablename__ = "config_history"
    __table_args__ = (
        Index("ix_config_history_at", "at"),
        Index("ix_config_history_object", "kind", "key"),
        NEVER_REUSE_IDS,
    )

    change_id: int | None = Field(
        default=None, sa_type=BIG_ID, primary_key=True, sa_column_kwargs={"autoincrement": True}
    )
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=255)
    front_door: str = Field(max_length=16)
    kind: str = Field(max_length=32)
    key: str = Field(max_length=255)
    action: str = Field(max_length=16)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON_DOCUMENT))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON_DOCUMENT))
    restored_from: int | None = Field(default=None, sa_type=BigInteger)
