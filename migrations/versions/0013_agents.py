"""agents

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25

The Medic agent (SRE-21): a key of the `agent` scope is bound to one host
(`api_keys.agent_host`); `agents` records each host's agent, its service (its polling is
that service's heartbeat) and its last contact; `agent_jobs` holds the `agent` steps
handed to hosts, one per step of an execution.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "api_keys",
        recreate="auto",
        table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
    ) as batch_op:
        batch_op.add_column(
            sa.Column("agent_host", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=True)
        )
    op.create_table(
        "agents",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("last_contact_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("counters", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.api_key_id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["service_id"], ["services.service_id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("agent_id"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_agents_host"), "agents", ["host"], unique=True)
    op.create_table(
        "agent_jobs",
        sa.Column("job_id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("execution_id", BIG_ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("script", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("args", JSON_DOCUMENT, nullable=True),
        sa.Column("sealed_args", sa.LargeBinary(), nullable=True),
        sa.Column("env", JSON_DOCUMENT, nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("queued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("skip_reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["execution_id"], ["executions.execution_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id"),
        sa.UniqueConstraint("execution_id", "position", name="uq_agent_jobs_step"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_agent_jobs_queued",
        "agent_jobs",
        ["host", "queued_at"],
        postgresql_where=sa.text("state = 'queued'"),
        sqlite_where=sa.text("state = 'queued'"),
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("ix_agent_jobs_queued", table_name="agent_jobs")
    op.drop_table("agent_jobs")
    op.drop_index(op.f("ix_agents_host"), table_name="agents")
    op.drop_table("agents")
    with op.batch_alter_table(
        "api_keys",
        recreate="auto",
        table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
    ) as batch_op:
        batch_op.drop_column("agent_host")
