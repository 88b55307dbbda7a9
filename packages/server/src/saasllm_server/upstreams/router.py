"""The one adapter around ``litellm.Router`` (its API moves between releases: pin it).

litellm does what it is best at here: the ``model_list``, picking a deployment
(load balancing, cooldowns honouring Retry-After), the pricing map. The bytes
of OpenAI-wire deployments never pass through it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm

from saasllm_server.upstreams.config import DeploymentConfig, RouterSettings
from saasllm_server.upstreams.providers import RelayMode, relay_mode

litellm.suppress_debug_info = True
litellm.disable_hf_tokenizer_download = True  # it blocks ~20 s offline
litellm.telemetry = False

_RETRY_IN = re.compile(r"[Tt]ry again in (\d+(?:\.\d+)?) seconds")


class AllDeploymentsCooling(Exception):
    """Every deployment of a member is cooling down after failures."""

    def __init__(self, member: str, retry_after: float | None) -> None:
        super().__init__(f"every deployment of {member!r} is cooling down")
        self.member = member
        self.retry_after = retry_after


class UnknownDeployment(Exception):
    """A model group names a deployment the ``model_list`` does not have."""


@dataclass(frozen=True, slots=True)
class Deployment:
    id: str
    member: str
    litellm_model: str
    provider: str
    upstream_model: str
    api_base: str | None
    api_key: str | None
    mode: RelayMode
    input_cost_per_token: float | None
    output_cost_per_token: float | None
    litellm_params: dict[str, Any] = field(repr=False, hash=False, compare=False)

    @property
    def chat_url(self) -> str:
        return (self.api_base or "").rstrip("/") + "/chat/completions"

    @property
    def priced(self) -> bool:
        return self.input_cost_per_token is not None and self.output_cost_per_token is not None

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return prompt_tokens * (self.input_cost_per_token or 0.0) + completion_tokens * (
            self.output_cost_per_token or 0.0
        )


IN_GROUP = "saasllm_defined_in_group"
"""``model_info`` flag of deployments defined inside a model group (through the admin API)."""

_DEFAULT_BASES = {"openai": "https://api.openai.com/v1"}


def _secret(value: object) -> str | None:
    """litellm's config convention: ``os.environ/NAME`` reads the key from the environment."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("os.environ/"):
        return os.environ.get(value.removeprefix("os.environ/"))
    return value


def _env_key(provider: str) -> str | None:
    return os.environ.get(f"{provider.upper()}_API_KEY")


def _prices(config: DeploymentConfig) -> tuple[float | None, float | None]:
    for source in (config.litellm_params, config.model_info):
        if "input_cost_per_token" in source and "output_cost_per_token" in source:
            return float(source["input_cost_per_token"]), float(source["output_cost_per_token"])
    try:
        info = litellm.get_model_info(config.litellm_params["model"])
    except Exception:  # litellm raises bare Exceptions for unmapped models
        return None, None
    inp, out = info.get("input_cost_per_token"), info.get("output_cost_per_token")
    if inp is None or out is None:
        return None, None
    return float(inp), float(out)


def build_deployment(config: DeploymentConfig, deployment_id: str) -> Deployment:
    params = config.litellm_params
    model = str(params["model"])
    upstream_model, provider, provider_key, api_base = litellm.get_llm_provider(
        model, api_base=params.get("api_base")
    )
    api_base = params.get("api_base") or api_base or _DEFAULT_BASES.get(provider)
    api_key = _secret(params.get("api_key"))
    if api_key is None and not (config.model_info.get(IN_GROUP) and params.get("api_base")):
        # A member defined through the admin API with its own api_base never gets the
        # provider's key from the environment: it would be sent to that base.
        api_key = provider_key or _env_key(provider)
    inp, out = _prices(config)
    return Deployment(
        id=deployment_id,
        member=config.model_name,
        litellm_model=model,
        provider=provider,
        upstream_model=upstream_model,
        api_base=api_base,
        api_key=api_key,
        mode=relay_mode(provider, api_base),
        input_cost_per_token=inp,
        output_cost_per_token=out,
        litellm_params=dict(params),
    )


class ModelRouter:
    """Picks a deployment for a member name and hears back how it went."""

    def __init__(self, model_list: list[DeploymentConfig], settings: RouterSettings) -> None:
        entries: list[dict[str, Any]] = []
        self._deployments: dict[str, Deployment] = {}
        self._members: set[str] = set()
        for index, config in enumerate(model_list):
            deployment_id = str(config.model_info.get("id") or f"{config.model_name}-{index}")
            info = {**config.model_info, "id": deployment_id}
            entries.append(
                {
                    "model_name": config.model_name,
                    "litellm_params": config.litellm_params,
                    "model_info": info,
                }
            )
            self._deployments[deployment_id] = build_deployment(config, deployment_id)
            self._members.add(config.model_name)
        per_member: dict[str, list[Deployment]] = {}
        for deployment in self._deployments.values():
            per_member.setdefault(deployment.member, []).append(deployment)
        self._single = {m: ds[0] for m, ds in per_member.items() if len(ds) == 1}
        self._router = (
            litellm.Router(
                model_list=entries,
                num_retries=0,
                routing_strategy=settings.routing_strategy,
                allowed_fails=settings.allowed_fails,
                cooldown_time=settings.cooldown_time,
            )
            if entries
            else None
        )

    @property
    def members(self) -> frozenset[str]:
        return frozenset(self._members)

    def deployments(self) -> list[Deployment]:
        return list(self._deployments.values())

    async def select(self, member: str, messages: list[dict[str, Any]]) -> Deployment:
        if self._router is None or member not in self._members:
            raise UnknownDeployment(member)
        only = self._single.get(member)
        if only is not None:
            # Nothing to choose, and litellm never cools down a lone deployment: skip the pick.
            return only
        try:
            picked = await self._router.select(member, {"messages": messages})
        except litellm.RouterRateLimitError as exc:
            match = _RETRY_IN.search(str(exc))
            raise AllDeploymentsCooling(member, float(match.group(1)) if match else None) from exc
        return self._deployments[str(picked["model_info"]["id"])]

    def report_failure(
        self,
        deployment: Deployment,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        started: datetime | None = None,
    ) -> None:
        """Feed the router's cooldown rules; this path honours the upstream's Retry-After."""
        if self._router is None:
            return
        exception = _litellm_exception(deployment, status, message, headers or {})
        kwargs = {
            "exception": exception,
            "litellm_params": {
                "model_info": {"id": deployment.id},
                "metadata": {"model_group": deployment.member},
            },
        }
        self._router.deployment_callback_on_failure(kwargs, None, started or datetime.now(), None)

    async def report_success(
        self, deployment: Deployment, total_tokens: int, started: datetime, ended: datetime
    ) -> None:
        if self._router is None or deployment.member in self._single:
            return
        kwargs = {
            "litellm_params": {
                "metadata": {"model_group": deployment.member},
                "model_info": {"id": deployment.id},
            },
            "standard_logging_object": {"total_tokens": total_tokens},
        }
        await self._router.deployment_callback_on_success(kwargs, None, started, ended)


_EXCEPTIONS: dict[int, Callable[..., Exception]] = {
    400: litellm.BadRequestError,
    401: litellm.AuthenticationError,
    404: litellm.NotFoundError,
    408: litellm.Timeout,
    429: litellm.RateLimitError,
    503: litellm.ServiceUnavailableError,
}


def _litellm_exception(
    deployment: Deployment, status: int, message: str, headers: dict[str, str]
) -> Exception:
    request = httpx.Request("POST", deployment.chat_url or "http://upstream.invalid")
    response = httpx.Response(status, headers=headers, request=request)
    cls: Callable[..., Exception] = _EXCEPTIONS.get(status, litellm.InternalServerError)
    if cls is litellm.Timeout:
        timeout: Exception = litellm.Timeout(
            message=message[:200], model=deployment.upstream_model, llm_provider=deployment.provider
        )
        return timeout
    return cls(
        message=message[:200],
        llm_provider=deployment.provider,
        model=deployment.upstream_model,
        response=response,
    )
