"""The pricing rules of the three budget modes, exact to the credit."""

from __future__ import annotations

import dataclasses

import pytest

from saasllm_server.domain import billing
from saasllm_server.domain.tenancy import Principal

BASE = Principal(
    key_id="key",
    team_id="team",
    organization_id="org",
    team_status="active",
    budget_mode="per_job",
    credits_per_job=3,
    default_model_group=None,
    allowed_groups=frozenset(),
    rpm_limit=None,
    max_concurrent_streams=None,
)


def mode(name: str, **changes: object) -> Principal:
    return dataclasses.replace(BASE, budget_mode=name, **changes)  # type: ignore[arg-type]


def test_per_job_price_and_hold() -> None:
    usage = billing.Usage(10_000, 10_000, 5.0)
    assert billing.job_price(BASE, usage) == 3
    assert billing.job_hold(BASE) == 3
    assert billing.call_hold(BASE, 100, 100, 1.0) == 0


@pytest.mark.parametrize(
    ("tokens", "credits"),
    [(0, 1), (1, 1), (999, 1), (1000, 1), (1001, 2), (2500, 3), (10_000, 10)],
)
def test_per_token_rounds_up_once_per_job_with_a_minimum_of_one(tokens: int, credits: int) -> None:
    principal = mode("per_token", tokens_per_credit=1000)
    assert (
        billing.job_price(principal, billing.Usage(tokens // 2, tokens - tokens // 2, 0)) == credits
    )
    assert billing.job_hold(principal) == 1


def test_per_token_call_hold_covers_prompt_and_max_tokens() -> None:
    principal = mode("per_token", tokens_per_credit=100)
    assert billing.call_hold(principal, 30, 171, None) == 3  # 201 tokens


@pytest.mark.parametrize(
    ("cost", "per_dollar", "markup", "credits"),
    [
        (8 * 0.000001 + 5 * 0.000002, 1_000_000, 50, 27),  # 1.7999999999999997e-05 USD
        (8 * 0.000001 + 5 * 0.000002, 1_000_000, 10, 20),  # 19.8 -> 20
        (0.1 + 0.2, 100, 0, 30),  # 0.30000000000000004 is 30 cents, not 31
        (0.01, 100, 0, 1),
        (0.011, 100, 0, 2),
        (0.0, 100, 25, 0),
    ],
)
def test_per_usd_applies_markup_then_rounds_up(
    cost: float, per_dollar: float, markup: float, credits: int
) -> None:
    principal = mode("per_usd", credits_per_dollar=per_dollar, markup_percent=markup)
    assert billing.job_price(principal, billing.Usage(1, 1, cost)) == credits


def test_available_counts_holds_and_overdraft() -> None:
    assert billing.available(balance=10, reserved=4, overdraft_limit=5) == 11
    assert billing.available(balance=0, reserved=1, overdraft_limit=0) == -1
