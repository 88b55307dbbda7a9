"""billing modes, reservations, key lifecycle, admin keys, audit log

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.add_column(
            sa.Column("tokens_per_credit", sa.Integer(), nullable=False, server_default="1000")
        )
        batch.add_column(
            sa.Column("credits_per_dollar", sa.Float(), nullable=False, server_default="100")
        )
        batch.add_column(
            sa.Column("markup_percent", sa.Float(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("overdraft_limit", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("low_balance_threshold", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("model_group_members") as batch:
        batch.add_column(sa.Column("litellm_params", sa.JSON(), nullable=True))
    with op.batch_alter_table("team_balances") as batch:
        batch.add_column(sa.Column("reserved", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("model_groups", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("replaced_by", sa.String(length=40), nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("credits_reserved", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("create_key", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("complete_key", sa.String(length=200), nullable=True))
        batch.create_unique_constraint("uq_jobs_team_create_key", ["team_id", "create_key"])
    with op.batch_alter_table("credit_ledger") as batch:
        batch.add_column(sa.Column("balance_before", sa.BigInteger(), nullable=True))
    op.execute("UPDATE credit_ledger SET balance_before = balance_after - amount")
    op.create_table(
        "admin_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        _ts("created_at", nullable=False),
        _ts("revoked_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_admin_keys_key_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        _ts("at", nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("admin_keys")
    with op.batch_alter_table("credit_ledger") as batch:
        batch.drop_column("balance_before")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("uq_jobs_team_create_key", type_="unique")
        batch.drop_column("complete_key")
        batch.drop_column("create_key")
        batch.drop_column("credits_reserved")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("replaced_by")
        batch.drop_column("model_groups")
    with op.batch_alter_table("team_balances") as batch:
        batch.drop_column("reserved")
    with op.batch_alter_table("model_group_members") as batch:
        batch.drop_column("litellm_params")
    with op.batch_alter_table("teams") as batch:
        for column in (
            "low_balance_threshold",
            "overdraft_limit",
            "markup_percent",
            "credits_per_dollar",
            "tokens_per_credit",
        ):
            batch.drop_column(column)
