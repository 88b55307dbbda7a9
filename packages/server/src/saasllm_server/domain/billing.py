"""What a job costs in credits under each budget mode, and what a call must hold first.

Prices are exact: token and dollar amounts are turned into credits with integer
and ``Decimal`` arithmetic and rounded up once, per job (so ten calls of 150
tokens at 1000 tokens per credit cost 2 credits, not 10).

Admission holds credits before work starts, and completion settles them:

* creating a job holds the job's minimum (its price under ``per_job``, one
  credit under the other modes);
* under ``per_token`` and ``per_usd`` each call also holds an estimate, from
  its ``max_tokens`` (or the configured default) and its prompt;
* completing the job charges the actual price and releases what it held.

So concurrent calls can never spend credits the team does not hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

from saasllm_server.domain.tenancy import Principal

ADMISSION_MINIMUM = 1
_WHOLE = Decimal(1)
# Provider costs are sums of float products (8 x 0.000001 + 5 x 0.000002 is
# 1.7999999999999997e-05); pricing starts from the cost rounded to a picodollar.
_PICODOLLAR = Decimal("1e-12")


@dataclass(frozen=True, slots=True)
class Usage:
    """A job's calls, summed."""

    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


def job_hold(principal: Principal) -> int:
    """Credits held when a job is created."""
    if principal.budget_mode == "per_job":
        return max(0, principal.credits_per_job)
    return ADMISSION_MINIMUM


def job_price(principal: Principal, usage: Usage) -> int:
    """The credits a completed job costs."""
    mode = principal.budget_mode
    if mode == "per_token":
        tokens = usage.prompt_tokens + usage.completion_tokens
        return max(ADMISSION_MINIMUM, math.ceil(tokens / principal.tokens_per_credit))
    if mode == "per_usd":
        return usd_to_credits(principal, usage.cost_usd)
    return max(0, principal.credits_per_job)


def job_charge(principal: Principal, completed: bool, usage: Usage) -> int:
    """What closing a job costs. Under ``per_job`` only a completed job is paid for. Under
    ``per_token`` and ``per_usd`` every token served is paid for, whatever status the
    client closes the job with: the provider was paid for them. A job that served nothing
    and was not completed is free."""
    if principal.budget_mode == "per_job":
        return job_price(principal, usage) if completed else 0
    served = usage.prompt_tokens + usage.completion_tokens > 0 or usage.cost_usd > 0
    if completed or served:
        return job_price(principal, usage)
    return 0


def usd_to_credits(principal: Principal, cost_usd: float) -> int:
    """Provider cost plus markup, in credits, rounded up once."""
    if cost_usd <= 0:
        return 0
    cost = Decimal(repr(cost_usd)).quantize(_PICODOLLAR, rounding=ROUND_HALF_EVEN)
    credits = (
        cost
        * (Decimal(100) + Decimal(repr(principal.markup_percent)))
        / Decimal(100)
        * Decimal(repr(principal.credits_per_dollar))
    )
    return int(credits.quantize(_WHOLE, rounding=ROUND_CEILING))


def call_hold(
    principal: Principal, prompt_tokens: int, max_tokens: int, cost_usd: float | None
) -> int:
    """Credits a call holds until its job completes (0 under ``per_job``: the job holds
    its whole price). ``cost_usd`` is the call's worst case, when the deployment is priced."""
    mode = principal.budget_mode
    if mode == "per_token":
        return max(1, math.ceil((prompt_tokens + max_tokens) / principal.tokens_per_credit))
    if mode == "per_usd":
        return usd_to_credits(principal, cost_usd or 0.0)
    return 0


def available(balance: int, reserved: int, overdraft_limit: int) -> int:
    return balance - reserved + overdraft_limit
