"""Admin API bodies: organizations, teams, keys, model groups, credits."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from saasllm_schema.jobs import BudgetMode

Identifier = str
TeamStatus = Literal["active", "suspended"]
_ID = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Identifier = _ID
    name: str = Field(default="", max_length=200)


class Organization(BaseModel):
    id: str
    name: str
    created_at: datetime


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Identifier = _ID
    organization_id: Identifier = _ID
    name: str = Field(default="", max_length=200)
    credits: int = Field(default=0, ge=0)
    default_model_group: str | None = None
    model_groups: list[str] = Field(default_factory=list)
    budget_mode: BudgetMode = "per_job"
    rpm_limit: int | None = Field(default=None, ge=1)
    max_concurrent_streams: int | None = Field(default=None, ge=1)


class TeamUpdate(BaseModel):
    """Fields to change on a team; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    default_model_group: str | None = None
    model_groups: list[str] | None = None
    rpm_limit: int | None = Field(default=None, ge=1)
    max_concurrent_streams: int | None = Field(default=None, ge=1)


class Team(BaseModel):
    id: str
    organization_id: str
    name: str
    status: TeamStatus
    credits_remaining: int
    default_model_group: str | None
    model_groups: list[str]
    budget_mode: BudgetMode
    rpm_limit: int | None
    max_concurrent_streams: int | None
    created_at: datetime


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)


class KeyCreated(BaseModel):
    """The only response that ever contains a key's secret."""

    key_id: str
    team_id: str
    key: str
    prefix: str
    created_at: datetime


class CreditChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(ge=-1_000_000_000, le=1_000_000_000)
    reason: str = Field(default="", max_length=500)


class Balance(BaseModel):
    team_id: str
    credits_remaining: int


class ModelGroupSpec(BaseModel):
    """A named, ordered fallback chain of deployments from the ``model_list``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    members: list[str] = Field(min_length=1)
