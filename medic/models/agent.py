"""Agents (SRE-21) and the jobs Medic hands them.

An agent is a host's `medic-agent`, known by its host name and its key; its polling is
the heartbeat of its service (`agent-<host>`). A job is one `agent` step of one
execution, queued for one host: the step's position in its execution is unique, so a
step re-run after a crash finds its job instead of sending a second one.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from medic.models.columns import BIG_ID, JSON_DOCUMENT, NEVER_REUSE_IDS, utcnow


class Agent(SQLModel, table=True):
    __tablename__ = "agents"
    __table_args__ = NEVER_REUSE_IDS

    agent_id: int | None = Field(default=None, primary_key=True)
    host: str = Field(max_length=63, unique=True, index=True)
    api_key_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("api_keys.api_key_id", ondelete="SET NULL"), nullable=True),
    )
    service_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("services.service_id", ondelete="SET NULL"), nullable=True),
    )
    version: str | None = Field(default=None, max_length=32)
    last_contact_at: datetime | None = None
    # The agent's own counters as it last reported them (medic_agent_script_*_total).
    counters: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class AgentJob(SQLModel, table=True):
    __tablename__ = "agent_jobs"
    __table_args__ = (
        UniqueConstraint("execution_id", "position", name="uq_agent_jobs_step"),
        Index(
            "ix_agent_jobs_queued",
            "host",
            "queued_at",
            postgresql_where=text("state = 'queued'"),
            sqlite_where=text("state = 'queued'"),
        ),
        NEVER_REUSE_IDS,
    )

    job_id: int | None = Field(
        default=None, sa_type=BIG_ID, primary_key=True, sa_column_kwargs={"autoincrement": True}
    )
    host: str = Field(max_length=63)
    execution_id: int = Field(
        sa_column=Column(
            BIG_ID, ForeignKey("executions.execution_id", ondelete="CASCADE"), nullable=False
        )
    )
    position: int
    script: str = Field(max_length=128)
    # The substituted arguments; sealed (AES-GCM, MEDIC_SECRETS_KEY) when they carry a
    # secret, so no secret sits in the database in clear.
    args: list[str] | None = Field(default=None, sa_column=Column(JSON_DOCUMENT, nullable=True))
    sealed_args: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    env: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
    timeout_seconds: int
    # queued | running | succeeded | failed | skipped | expired | cancelled
    state: str = Field(default="queued", max_length=16)
    queued_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    duration_ms: int | None = None
    skip_reason: str | None = Field(default=None, max_length=32)
    message: str | None = Field(default=None, max_length=1000)
    output: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
