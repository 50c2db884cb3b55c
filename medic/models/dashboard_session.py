"""A signed-in dashboard session: server-side, so signing out, revoking or rotating the
key ends it at once in every process.

The browser holds a random token in an HttpOnly cookie; only its SHA-256 is stored (the
token is 256 random bits, so a fast hash is enough). The session acts with its API key's
scopes and is valid only while that key is live and still has the prefix it had at sign
in (rotating a key gives it a new prefix)."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey
from sqlmodel import Field, SQLModel

from medic.models.columns import utcnow


class DashboardSession(SQLModel, table=True):
    __tablename__ = "dashboard_sessions"

    session_id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    api_key_id: int = Field(
        sa_column=Column(
            ForeignKey("api_keys.api_key_id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    key_prefix: str = Field(max_length=32)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
