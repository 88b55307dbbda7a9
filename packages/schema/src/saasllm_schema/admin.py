"""Admin API bodies: organizations, teams, keys, model groups, credits, usage, audit."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from saasllm_schema.jobs import BudgetMode, JobStatus
from saasllm_schema.text import NO_NUL

Identifier = str
TeamStatus = Literal["active", "suspended"]
KeyStatus = Literal["active", "expiring", "expired", "revoked"]
AdminScope = Literal["read", "billing", "full"]
LedgerKind = Literal[
    "grant", "allocation", "topup", "adjustment", "refund", "job_charge", "job_refund"
]
UsageGrouping = Literal["day", "job_type", "day_and_job_type"]
_ID = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CREDITS = Field(ge=0, le=10**12)

T = TypeVar("T")


def _utc(value: datetime | None) -> datetime | None:
    """Times are stored in UTC (SQLite keeps no zone): a zone is required, then dropped."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("a time needs a time zone (e.g. 2027-01-01T00:00:00Z)")
    return value.astimezone(UTC)


class Page(BaseModel, Generic[T]):
    """One page of a listing; pass ``next_cursor`` back as ``cursor`` for the next one."""

    data: list[T]
    next_cursor: str | None = None


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Identifier = _ID
    name: str = Field(pattern=NO_NUL, default="", max_length=200)


class Organization(BaseModel):
    id: str
    name: str
    created_at: datetime


class BillingSettings(BaseModel):
    """How a team's completed jobs are priced, and how far its balance may go."""

    model_config = ConfigDict(extra="forbid")

    budget_mode: BudgetMode = "per_job"
    credits_per_job: int = Field(default=1, ge=0, le=10**9, description="per_job: price of a job")
    tokens_per_credit: int = Field(
        default=1000, ge=1, le=10**9, description="per_token: tokens one credit buys"
    )
    credits_per_dollar: float = Field(
        default=100.0, gt=0, le=10**9, description="per_usd: credits per USD of provider cost"
    )
    markup_percent: float = Field(
        default=0.0, ge=0, le=10_000, description="per_usd: added to the provider cost"
    )
    overdraft_limit: int = Field(
        default=0, ge=0, le=10**12, description="how far below zero the balance may go"
    )
    low_balance_threshold: int | None = Field(
        default=None, ge=0, le=10**12, description="the team shows as low at or below this"
    )


class TeamCreate(BillingSettings):
    model_config = ConfigDict(extra="forbid")

    id: Identifier = _ID
    organization_id: Identifier = _ID
    name: str = Field(pattern=NO_NUL, default="", max_length=200)
    credits: int = _CREDITS
    default_model_group: str | None = None
    model_groups: list[str] = Field(default_factory=list)
    rpm_limit: int | None = Field(default=None, ge=1)
    max_concurrent_streams: int | None = Field(default=None, ge=1)


class TeamUpdate(BaseModel):
    """Fields to change on a team; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(pattern=NO_NUL, default=None, max_length=200)
    default_model_group: str | None = None
    model_groups: list[str] | None = None
    rpm_limit: int | None = Field(default=None, ge=1)
    max_concurrent_streams: int | None = Field(default=None, ge=1)
    budget_mode: BudgetMode | None = None
    credits_per_job: int | None = Field(default=None, ge=0, le=10**9)
    tokens_per_credit: int | None = Field(default=None, ge=1, le=10**9)
    credits_per_dollar: float | None = Field(default=None, gt=0, le=10**9)
    markup_percent: float | None = Field(default=None, ge=0, le=10_000)
    overdraft_limit: int | None = Field(default=None, ge=0, le=10**12)
    low_balance_threshold: int | None = Field(default=None, ge=0, le=10**12)


class Team(BaseModel):
    id: str
    organization_id: str
    name: str
    status: TeamStatus
    credits_remaining: int = Field(description="the balance")
    credits_reserved: int = Field(description="held by open jobs and running calls")
    credits_available: int = Field(description="balance - reserved + overdraft limit")
    debt: int = Field(
        default=0,
        description="credits the team's calls used beyond what it held (the balance is that "
        "far below its floor); no new work starts until a top-up pays it",
    )
    low_balance: bool
    default_model_group: str | None
    model_groups: list[str]
    budget_mode: BudgetMode
    credits_per_job: int
    tokens_per_credit: int
    credits_per_dollar: float
    markup_percent: float
    overdraft_limit: int
    low_balance_threshold: int | None
    rpm_limit: int | None
    max_concurrent_streams: int | None
    created_at: datetime
    deleted_at: datetime | None = None


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NO_NUL, default="", max_length=200)
    expires_at: datetime | None = Field(default=None, description="stops working at this time")
    model_groups: list[str] | None = Field(
        default=None, description="groups this key may use (within the team's); None: all"
    )

    @model_validator(mode="after")
    def _aware(self) -> KeyCreate:
        self.expires_at = _utc(self.expires_at)
        return self


class KeyUpdate(BaseModel):
    """Fields to change on a key; absent fields stay as they are (``null`` clears)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(pattern=NO_NUL, default=None, max_length=200)
    expires_at: datetime | None = None
    model_groups: list[str] | None = None

    @model_validator(mode="after")
    def _aware(self) -> KeyUpdate:
        if self.expires_at is not None:
            self.expires_at = _utc(self.expires_at)
        return self


class KeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: int = Field(
        default=3600, ge=0, le=90 * 86400, description="how long the old key keeps working"
    )
    name: str | None = Field(
        pattern=NO_NUL, default=None, max_length=200, description="default: the old name"
    )


class KeyInfo(BaseModel):
    """A key as listed: never its secret, only the display prefix."""

    key_id: str
    team_id: str
    name: str
    prefix: str
    status: KeyStatus
    model_groups: list[str] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    replaced_by: str | None = None


class KeyCreated(KeyInfo):
    """The only response that ever contains a key's secret."""

    key: str


class CreditChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(ge=-(10**12), le=10**12)
    reason: str = Field(pattern=NO_NUL, default="", max_length=500)


class CreditGrant(BaseModel):
    """A positive amount: an allocation, a top-up or a refund."""

    model_config = ConfigDict(extra="forbid")

    amount: int = Field(ge=1, le=10**12)
    reason: str = Field(pattern=NO_NUL, default="", max_length=500)
    job_id: str | None = Field(default=None, description="refunds: the job refunded")


class CreditAdjustment(BaseModel):
    """A correction either way; never below the overdraft limit."""

    model_config = ConfigDict(extra="forbid")

    amount: int = Field(ge=-(10**12), le=10**12)
    reason: str = Field(pattern=NO_NUL, min_length=1, max_length=500, description="why (required)")

    @model_validator(mode="after")
    def _nonzero(self) -> CreditAdjustment:
        if self.amount == 0:
            raise ValueError("amount must not be 0")
        return self


class Balance(BaseModel):
    team_id: str
    credits_remaining: int


class LedgerEntry(BaseModel):
    id: int
    team_id: str
    kind: str
    amount: int
    balance_before: int
    balance_after: int
    reason: str
    actor: str
    job_id: str | None
    idempotency_key: str | None
    created_at: datetime


# What a group member defined through the API may set: where the model is and what it
# costs. Anything that could carry a credential stays with the operator's files.
MEMBER_PARAMS = frozenset(
    {
        "model",
        "api_base",
        "api_key",
        "api_version",
        "custom_llm_provider",
        "input_cost_per_token",
        "output_cost_per_token",
        "timeout",
        "stream_timeout",
        "rpm",
        "tpm",
        "max_tokens",
    }
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ModelGroupMember(BaseModel):
    """A fallback step defined in place: a deployment of its own, with its litellm params.

    Secrets stay out of the database: an ``api_key`` must name an environment variable
    (``os.environ/NAME``), which the gateway reads when it builds the deployment.
    """

    model_config = ConfigDict(extra="forbid")

    deployment: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    litellm_params: dict[str, Any] = Field(
        description="litellm params: model (required), api_base, api_key (os.environ/NAME), "
        "input_cost_per_token, output_cost_per_token, …"
    )

    @model_validator(mode="after")
    def _params(self) -> ModelGroupMember:
        params = self.litellm_params
        if not isinstance(params.get("model"), str):
            raise ValueError("litellm_params.model is required")
        unknown = sorted(set(params) - MEMBER_PARAMS)
        if unknown:
            raise ValueError(
                f"litellm_params {unknown} cannot be set here (secrets and provider credentials "
                "belong in the gateway's environment or its model_list file)"
            )
        key = params.get("api_key")
        if key is not None:
            name = key.removeprefix("os.environ/") if isinstance(key, str) else ""
            if name == key or not _ENV_NAME.match(name) or name.startswith("SAASLLM_"):
                raise ValueError(
                    "litellm_params.api_key must be 'os.environ/<VARIABLE>', and not one of "
                    "the gateway's own SAASLLM_ variables"
                )
        return self


class ModelGroupSpec(BaseModel):
    """A named, ordered fallback chain: deployments of the ``model_list`` by name, or
    deployments defined in place."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NO_NUL, min_length=1, max_length=200)
    members: list[str | ModelGroupMember] = Field(min_length=1, max_length=50)

    def member_key(self, member: str | ModelGroupMember) -> str:
        """The router name of a member: a ``model_list`` name, or ``<group>/<deployment>``."""
        return member if isinstance(member, str) else f"{self.name}/{member.deployment}"

    def member_keys(self) -> list[str]:
        return [self.member_key(m) for m in self.members]


class AdminKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NO_NUL, min_length=1, max_length=200)
    scope: AdminScope = "read"


class AdminKeyInfo(BaseModel):
    key_id: str
    name: str
    scope: AdminScope
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class AdminKeyCreated(AdminKeyInfo):
    key: str


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]


class UsageRow(BaseModel):
    """One bucket of usage; ``day``/``job_type`` are set when grouped by them."""

    day: date | None = None
    job_type: str | None = None
    jobs: int
    completed_jobs: int
    calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int
    provider_cost_usd: float
    credits_charged: int


class UsageReport(BaseModel):
    organization_id: str | None
    team_id: str | None
    start: datetime | None
    end: datetime | None
    group_by: UsageGrouping
    rows: list[UsageRow]
    totals: UsageRow


class JobListItem(BaseModel):
    job_id: str
    team_id: str
    job_type: str
    status: JobStatus
    user_id: str | None
    created_at: datetime
    completed_at: datetime | None
    credits_charged: int
    credits_reserved: int
