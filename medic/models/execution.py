"""A playbook execution and the record of each of its steps (SRE-23).

The execution row is the whole truth of where a run is: its state, the next step to
run, and when to look at it again (`wake_at`). It is written after every step, so
any process can pick a run up after a crash without re-running a finished step.
"""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from medic.models.columns import BIG_ID, NEVER_REUSE_IDS, utcnow


class Execution(SQLModel, table=True):
    __tablename__ = "executions"
    __table_args__ = (
        Index(
            "ix_executions_unfinished",
            "wake_at",
            postgresql_where=text("state IN ('pending_approval', 'running', 'waiting')"),
            sqlite_where=text("state IN ('pending_approval', 'running', 'waiting')"),
        ),
        Index("ix_executions_breaker", "playbook_id", "service_id", "created_at"),
        Index("uq_executions_approval_token", "approval_token", unique=True),
        # An alert starts each playbook once, however many schedulers notice it.
        Index(
            "uq_executions_playbook_alert",
            "playbook_id",
            "alert_id",
            unique=True,
            postgresql_where=text("alert_id IS NOT NULL"),
            sqlite_where=text("alert_id IS NOT NULL"),
        ),
        NEVER_REUSE_IDS,
    )

    execution_id: int | None = Field(
        default=None, sa_type=BIG_ID, primary_key=True, sa_column_kwargs={"autoincrement": True}
    )
    playbook_id: int = Field(
        sa_column=Column(ForeignKey("playbooks.playbook_id", ondelete="CASCADE"), nullable=False)
    )
    playbook_name: str = Field(max_length=63)
    # The version pinned at the start: a later change never alters a running execution.
    version: int
    service_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("services.service_id", ondelete="SET NULL"), nullable=True),
    )
    alert_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("alerts.alert_id", ondelete="SET NULL"), nullable=True),
    )
    state: str = Field(default="running", max_length=20)
    next_step: int = 0
    # When to look again: a wait's end, a condition's next check, a lease on a step in
    # flight, an approval's deadline.
    wake_at: datetime | None = None
    step_started_at: datetime | None = None
    # When the scheduler last handed it to a worker (the relay re-sends lost messages).
    enqueued_at: datetime | None = None
    requested_by: str = Field(max_length=255)
    front_door: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=1000)
    approval_deadline: datetime | None = None
    # The capability in the approval page's link (/approvals/{token}): it shows the
    # request to whoever has the link; deciding still takes an approver's key.
    approval_token: str | None = Field(default=None, max_length=64)
    approval_on_deadline: str | None = Field(default=None, max_length=8)
    decided_by: str | None = Field(default=None, max_length=255)
    decided_at: datetime | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class ExecutionStep(SQLModel, table=True):
    __tablename__ = "execution_steps"
    __table_args__ = (
        UniqueConstraint("execution_id", "position", name="uq_execution_steps_position"),
    )

    step_id: int | None = Field(
        default=None, sa_type=BIG_ID, primary_key=True, sa_column_kwargs={"autoincrement": True}
    )
    execution_id: int = Field(
        sa_column=Column(
            BIG_ID, ForeignKey("executions.execution_id", ondelete="CASCADE"), nullable=False
        )
    )
    position: int
    name: str = Field(max_length=255)
    step_type: str = Field(max_length=16)
    # running | succeeded | failed
    state: str = Field(default="running", max_length=16)
    attempts: int = 0
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    summary: str | None = Field(default=None, max_length=1000)
    status_code: int | None = None
    output: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
