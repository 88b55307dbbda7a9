"""The gateway's YAML config: litellm's ``model_list``, router settings, model groups and
the tenancy bootstrap (organizations, teams, keys, credits).

It is the declarative file an operator keeps in version control; applying it at
start-up is idempotent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from saasllm_schema import BillingSettings, ModelGroupSpec


class DeploymentConfig(BaseModel):
    """One entry of litellm's ``model_list``; ``model_name`` is what groups reference."""

    model_config = ConfigDict(extra="allow")

    model_name: str = Field(min_length=1)
    litellm_params: dict[str, Any]
    model_info: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_model(self) -> DeploymentConfig:
        if not isinstance(self.litellm_params.get("model"), str):
            raise ValueError(f"deployment {self.model_name!r}: litellm_params.model is required")
        return self


class RouterSettings(BaseModel):
    model_config = ConfigDict(extra="allow")

    routing_strategy: str = "simple-shuffle"
    allowed_fails: int = 0
    cooldown_time: float = 30.0


class KeySpec(BaseModel):
    """A key in the bootstrap file: the secret (hashed before storing) or its SHA-256."""

    model_config = ConfigDict(extra="forbid")

    key: str | None = Field(default=None, min_length=8)
    key_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    id: str | None = None
    name: str = ""

    @model_validator(mode="after")
    def _one_of(self) -> KeySpec:
        if (self.key is None) == (self.key_sha256 is None):
            raise ValueError("give exactly one of key or key_sha256")
        return self


class TeamSpec(BillingSettings):
    """A team of the bootstrap file; its billing fields are the admin API's."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    name: str = ""
    credits: int = Field(
        default=0, ge=0, description="Granted once, when the team is first created."
    )
    default_model_group: str | None = None
    model_groups: list[str] = Field(default_factory=list)
    rpm_limit: int | None = Field(default=None, ge=1)
    max_concurrent_streams: int | None = Field(default=None, ge=1)
    status: str = Field(default="active", pattern="^(active|suspended)$")
    keys: list[KeySpec] = Field(default_factory=list)


class OrganizationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    name: str = ""
    teams: list[TeamSpec] = Field(default_factory=list)


class GatewayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_list: list[DeploymentConfig] = Field(default_factory=list)
    router_settings: RouterSettings = Field(default_factory=RouterSettings)
    model_groups: list[ModelGroupSpec] = Field(default_factory=list)
    organizations: list[OrganizationSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> GatewayConfig:
        names = {d.model_name for d in self.model_list}
        for group in self.model_groups:
            missing = [m for m in group.members if isinstance(m, str) and m not in names]
            if missing:
                raise ValueError(f"model group {group.name!r} names unknown deployments {missing}")
        groups = {g.name for g in self.model_groups}
        for org in self.organizations:
            for team in org.teams:
                wanted = set(team.model_groups)
                if team.default_model_group:
                    wanted.add(team.default_model_group)
                unknown = wanted - groups
                if unknown:
                    raise ValueError(
                        f"team {team.id!r} names unknown model groups {sorted(unknown)}"
                    )
        return self

    @classmethod
    def load(cls, path: Path) -> GatewayConfig:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls.model_validate(data)
