"""detection rules

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25

A service's detection rules (medic.core.detection_rules): alert after N failures in a
row, recover after M successes, a job's minimum duration and start grace, a window's
maximum beats; and why its last failure report is one when it is not a FAILED/DOWN.
`consecutive_failures` now counts while a service is failing but not yet down, and a
healthy service with a count is looked at by its check, not its deadline: a count
left by the past on a service that is not down starts over.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ("alert_after_failures", "recover_after_successes")
OPTIONAL_SECONDS = ("min_duration_seconds", "max_beats", "start_grace_seconds")


def upgrade() -> None:
    for name in COUNTS:
        op.add_column("services", sa.Column(name, sa.Integer(), nullable=False, server_default="1"))
    for name in OPTIONAL_SECONDS:
        op.add_column("services", sa.Column(name, sa.Integer(), nullable=True))
    op.add_column(
        "services",
        sa.Column(
            "last_failure_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True
        ),
    )
    op.execute(
        "UPDATE services SET consecutive_failures = 0, missed_deadline_at = NULL "
        "WHERE state <> 'down'"
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "services",
        recreate="auto",
        # A recreated table keeps AUTOINCREMENT: ids are never reused (0008).
        table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
    ) as batch_op:
        batch_op.drop_column("last_failure_reason")
        for name in reversed((*COUNTS, *OPTIONAL_SECONDS)):
            batch_op.drop_column(name)
