"""The relational schema, as SQLAlchemy Core tables shared by queries and migrations.

Identifiers are strings (UUID text for jobs and calls) so SQLite and PostgreSQL
store the same values; credits are integers so a balance never drifts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from saasllm_schema import JobStatus

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _ts(name: str, nullable: bool = True) -> Column[datetime]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


organizations = Table(
    "organizations",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("name", String(200), nullable=False, default=""),
    _ts("created_at", nullable=False),
)

teams = Table(
    "teams",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("organization_id", String(100), ForeignKey("organizations.id"), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("status", String(20), nullable=False, default="active"),
    Column("budget_mode", String(20), nullable=False, default="per_job"),
    Column("credits_per_job", Integer, nullable=False, default=1),
    Column("tokens_per_credit", Integer, nullable=False, default=1000, server_default="1000"),
    Column("credits_per_dollar", Float, nullable=False, default=100.0, server_default="100"),
    Column("markup_percent", Float, nullable=False, default=0.0, server_default="0"),
    Column("overdraft_limit", BigInteger, nullable=False, default=0, server_default="0"),
    Column("low_balance_threshold", BigInteger, nullable=True),
    Column("default_model_group", String(200), nullable=True),
    Column("rpm_limit", Integer, nullable=True),
    Column("max_concurrent_streams", Integer, nullable=True),
    _ts("created_at", nullable=False),
    _ts("deleted_at"),
)

team_balances = Table(
    "team_balances",
    metadata,
    Column("team_id", String(100), ForeignKey("teams.id"), primary_key=True),
    Column("balance", BigInteger, nullable=False, default=0),
    # Held for open jobs and running calls; available = balance - reserved + overdraft.
    Column("reserved", BigInteger, nullable=False, default=0, server_default="0"),
    _ts("updated_at", nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("team_id", String(100), ForeignKey("teams.id"), nullable=False, index=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("model_groups", JSON, nullable=True),
    Column("replaced_by", String(40), nullable=True),
    _ts("created_at", nullable=False),
    _ts("expires_at"),
    _ts("revoked_at"),
)

model_groups = Table(
    "model_groups",
    metadata,
    Column("name", String(200), primary_key=True),
    _ts("created_at", nullable=False),
)

model_group_members = Table(
    "model_group_members",
    metadata,
    Column("group_name", String(200), ForeignKey("model_groups.name"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("deployment", String(200), nullable=False),
    # Set for a member defined in place (its own deployment); None for a model_list name.
    Column("litellm_params", JSON, nullable=True),
)

team_model_groups = Table(
    "team_model_groups",
    metadata,
    Column("team_id", String(100), ForeignKey("teams.id"), primary_key=True),
    Column("group_name", String(200), ForeignKey("model_groups.name"), primary_key=True),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("team_id", String(100), ForeignKey("teams.id"), nullable=False),
    Column("job_type", String(100), nullable=False),
    Column("status", String(20), nullable=False, default=JobStatus.PENDING.value),
    Column("user_id", String(256), nullable=True),
    Column("metadata", JSON, nullable=False, default=dict),
    Column("error_message", Text, nullable=True),
    Column("credits_charged", BigInteger, nullable=False, default=0),
    Column("credits_reserved", BigInteger, nullable=False, default=0, server_default="0"),
    # Idempotency-Key of the request that created / completed the job: a retry gets the
    # same job, or the same result, instead of a second job or a 409.
    Column("create_key", String(200), nullable=True),
    Column("complete_key", String(200), nullable=True),
    _ts("created_at", nullable=False),
    _ts("started_at"),
    _ts("completed_at"),
    # The job's lease: a process working on it moves this forward (creation, each call,
    # a heartbeat while calls run); an open job left behind is settled by the sweeper.
    _ts("active_at"),
    Index("ix_jobs_team_created", "team_id", "created_at"),
    Index("ix_jobs_status_active", "status", "active_at"),
    UniqueConstraint("team_id", "create_key", name="uq_jobs_team_create_key"),
)

llm_calls = Table(
    "llm_calls",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("job_id", String(36), ForeignKey("jobs.id"), nullable=False, index=True),
    Column("team_id", String(100), nullable=False),
    Column("model_group", String(200), nullable=False),
    Column("deployment_id", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("stream", Boolean, nullable=False),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("cost_usd", Float, nullable=False, default=0.0),
    Column("latency_ms", Float, nullable=False, default=0.0),
    Column("ttft_ms", Float, nullable=True),
    Column("error", Text, nullable=True),
    Column("end_user", String(256), nullable=True),
    _ts("created_at", nullable=False),
)

credit_ledger = Table(
    "credit_ledger",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("team_id", String(100), ForeignKey("teams.id"), nullable=False, index=True),
    Column("job_id", String(36), ForeignKey("jobs.id"), nullable=True),
    Column("kind", String(30), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("balance_before", BigInteger, nullable=True),
    Column("balance_after", BigInteger, nullable=False),
    Column("reason", String(500), nullable=False, default=""),
    Column("actor", String(200), nullable=False, default=""),
    Column("idempotency_key", String(200), nullable=True),
    _ts("created_at", nullable=False),
    # A job is charged at most once, whatever races: the database enforces it.
    UniqueConstraint("job_id", "kind", name="uq_credit_ledger_job_kind"),
    UniqueConstraint("team_id", "idempotency_key", name="uq_credit_ledger_idempotency"),
)

admin_keys = Table(
    "admin_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("scope", String(20), nullable=False),
    _ts("created_at", nullable=False),
    _ts("revoked_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    _ts("at", nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("target", String(300), nullable=False, default=""),
    Column("details", JSON, nullable=False, default=dict),
    Index("ix_audit_log_at", "at"),
)
