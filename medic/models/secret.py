"""A playbook secret, sealed (medic.core.sealing); its value never leaves the server
except into the playbook step that names it."""

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from medic.models.columns import NEVER_REUSE_IDS, utcnow


class Secret(SQLModel, table=True):
    __tablename__ = "secrets"
    __table_args__ = NEVER_REUSE_IDS

    secret_id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    sealed_value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
