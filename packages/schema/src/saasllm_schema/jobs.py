"""Jobs: the unit a team is billed for, and the summaries returned about them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from saasllm_schema.chat import ChatCompletion
from saasllm_schema.mapping import MappingModel
from saasllm_schema.text import NO_NUL


class JobStatus(StrEnum):
    """Where a job is: created, running its calls, or closed with one of the final three."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FinalStatus = Literal[JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED]
"""The statuses a job can be completed with (a field type: a request may ask for no other)."""

FINAL_STATUSES: frozenset[JobStatus] = frozenset(get_args(FinalStatus))
"""A job in one of these is closed: it takes no more calls and is charged at most once."""

OPEN_STATUSES: frozenset[JobStatus] = frozenset(JobStatus) - FINAL_STATUSES
"""A job in one of these still takes calls and holds credits."""


class CallStatus(StrEnum):
    """How one LLM call ended, as recorded and as listed in a job's result.

    ``running`` is no ending: it marks the progress a long stream records while it runs
    (what it has used so far), which its final record replaces. A job settled after its
    replica died lists such a call as ``cancelled``.
    """

    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RUNNING = "running"


BudgetMode = Literal["per_job", "per_token", "per_usd"]


def _lower(value: Any) -> Any:
    # Any casing on input ("COMPLETED", "Completed"); lowercase on output.
    return value.strip().lower() if isinstance(value, str) else value


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_type: str = Field(pattern=NO_NUL, min_length=1, max_length=100)
    team_id: str | None = Field(default=None, max_length=100)
    user_id: str | None = Field(pattern=NO_NUL, default=None, max_length=256)
    metadata: dict[str, Any] = Field(default_factory=dict)


class JobCreated(MappingModel):
    job_id: str
    team_id: str
    job_type: str = ""
    status: JobStatus = JobStatus.PENDING
    created_at: datetime


class Job(MappingModel):
    job_id: str
    team_id: str
    job_type: str
    status: JobStatus
    user_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error_message: str | None = None
    credit_applied: bool = False
    credits_charged: int = 0
    total_calls: int = 0
    model_groups_used: list[str] = Field(default_factory=list)


class JobComplete(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: FinalStatus = JobStatus.COMPLETED
    metadata: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error_message: str | None = Field(pattern=NO_NUL, default=None, max_length=10_000)

    _status_casing = field_validator("status", mode="before")(lambda cls, v: _lower(v))


class CostSummary(MappingModel):
    """What a job used and what it cost; read as attributes or with ``.get``."""

    total_calls: int = 0
    successful_calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    total_cost_usd: float = 0.0
    avg_latency_ms: float = 0.0
    credit_applied: bool = False
    credits_charged: int = 0
    credits_remaining: int = 0


class CallSummary(MappingModel):
    call_id: str
    model_group: str
    model: str
    status: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    error: str | None = None


class JobResult(MappingModel):
    """Returned by completing a job: the charge, the balance after it, the cost summary."""

    job_id: str
    team_id: str
    status: JobStatus
    completed_at: datetime
    credit_applied: bool
    credits_charged: int = 0
    credits_remaining: int
    total_calls: int
    costs: CostSummary
    calls: list[CallSummary] = Field(default_factory=list)


class CreateAndCallResult(ChatCompletion):
    """The call's answer (both shapes) plus the job's outcome and charge."""

    job_id: str
    status: JobStatus
    completed_at: datetime | None = None
    credits_remaining: int = 0
    costs: CostSummary = Field(default_factory=CostSummary)
