"""An API key: a name, scopes and an argon2 hash; the secret itself is never stored."""

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from medic.models.columns import JSON_DOCUMENT, NEVER_REUSE_IDS, utcnow


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    __table_args__ = NEVER_REUSE_IDS

    api_key_id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255, unique=True)
    # Not secret: lets a presented key find its row without trying every hash.
    prefix: str = Field(max_length=32, unique=True, index=True)
    key_hash: str = Field(max_length=255)
    scopes: list[str] = Field(sa_column=Column(JSON_DOCUMENT, nullable=False))
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    heartbeat_rate_limit: int | None = Field(default=None, description="per minute")
    management_rate_limit: int | None = Field(default=None, description="per minute")
    # The host an `agent`-scope key polls for (medic.core.agents); None for other keys.
    agent_host: str | None = Field(default=None, max_length=63)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
