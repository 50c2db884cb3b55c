"""dependencies and nagging

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25

Service dependencies (`services.depends_on`, heartbeat names): a child's alerts are
recorded but not sent while a parent is down; `alerts.suppressed_by` says why an
alert's opening was not sent. Nagging: `notification_targets.repeat_every`, and
`alert_reminders`, when each target of an open alert is next reminded.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column(
        "services",
        sa.Column("depends_on", JSON_DOCUMENT, nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column(
        "alerts",
        sa.Column("suppressed_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    )
    op.add_column(
        "notification_targets",
        sa.Column("repeat_every", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    )
    op.create_table(
        "alert_reminders",
        sa.Column("reminder_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("target_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("repeat_every_seconds", sa.Integer(), nullable=False),
        sa.Column("next_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.alert_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("reminder_id"),
        sa.UniqueConstraint("alert_id", "target_name", name="uq_alert_reminders_target"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alert_reminders_next_at", "alert_reminders", ["next_at"])


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("ix_alert_reminders_next_at", table_name="alert_reminders")
    op.drop_table("alert_reminders")
    for table, column in (
        ("notification_targets", "repeat_every"),
        ("alerts", "suppressed_by"),
        ("services", "depends_on"),
    ):
        with op.batch_alter_table(
            table,
            recreate="auto",
            # A recreated table keeps AUTOINCREMENT: ids are never reused (0008).
            table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
        ) as batch_op:
            batch_op.drop_column(column)
