"""approval links

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

An unguessable token per pending approval: the link to its page (/approvals/{token})
that Slack and PagerDuty carry.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("approval_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_index("uq_executions_approval_token", ["approval_token"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("uq_executions_approval_token")
        batch_op.drop_column("approval_token")
