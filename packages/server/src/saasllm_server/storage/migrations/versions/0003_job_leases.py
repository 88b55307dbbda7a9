"""job leases: when a process last showed it was working on a job

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("active_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_jobs_status_active", ["status", "active_at"])
    op.execute("UPDATE jobs SET active_at = COALESCE(started_at, created_at)")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_status_active")
        batch.drop_column("active_at")
