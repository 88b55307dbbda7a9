"""What a job costs in credits under each budget mode, and what a call must hold first.

Prices are exact: token and dollar amounts are turned into credits with integer
and ``Decimal`` arithmetic and rounded up once, per job (so ten calls of 150
tokens at 1000 tokens per credit cost 2 credits, not 10).

Admission holds credits before work starts, and completion settles them:

* creating a job holds the job's minimum (its price under ``per_job``, one
  credit under the other modes);
* under ``per_token`` and ``per_usd`` each call also holds its worst case: a
  bound of its prompt's tokens (``prompt_token_bound``) plus its output limit
  (``output_limit``, which the gateway sends upstream);
* completing the job charges the actual price and releases what it held.

So concurrent calls can never spend credits the team does not hold.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any

import orjson

from saasllm_schema import ChatRequest
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


# What a prompt's tokens can be at most. Byte-level BPE (GPT, Llama 3, Qwen, Mistral's
# tekken...) never makes more tokens of a text than it has UTF-8 bytes, and SentencePiece
# at most one more per text (its leading space): so the bytes of every text the prompt
# carries bound them. The chat template adds markers around each message and a preamble
# (a default system prompt, the reply's opening), at most these many tokens:
PROMPT_FIXED_TOKENS = 64
PROMPT_TOKENS_PER_MESSAGE = 8
TOOLS_PREAMBLE_TOKENS = 600
"""Tool or schema instructions a provider adds once (Anthropic's tool-use system prompt, at
most 530 tokens, also carries ``response_format``)."""
MEDIA_PART_TOKENS = 4096
"""An image (or audio, or file) part: providers bill an image by its size, unknown here;
4,096 covers their largest image under every mainstream model's pricing but the few that
count images as tens of thousands of tokens. Beyond it, what is used becomes debt."""


def output_limit(request: ChatRequest, default: int) -> int:
    """The most tokens a call may generate: the larger limit it gave (an upstream may honour
    either), or ``default``, which the gateway then sends upstream as ``max_tokens``."""
    return max(request.max_tokens or 0, request.max_completion_tokens or 0) or default


def prompt_token_bound(request: ChatRequest) -> int:
    """A count no provider's tokenizer exceeds for this request's prompt: the UTF-8 bytes
    of every text in it (contents, names, tool calls, tool results' ids), plus the
    template's markers; structured values (tools, ``response_format``, tool calls) at twice
    their JSON bytes, since a template may print them spaced out and indented; media
    parts at ``MEDIA_PART_TOKENS`` each (audio and files: plus their bytes). Costs
    microseconds: no tokenizer runs."""
    total = PROMPT_FIXED_TOKENS
    for message in request.messages:
        total += PROMPT_TOKENS_PER_MESSAGE
        content = message.content
        if isinstance(content, str):
            total += _text_bytes(content)
        elif content is not None:
            total += sum(_part_tokens(part) for part in content)
        if message.name:
            total += _text_bytes(message.name)
        if message.tool_call_id:
            total += _text_bytes(message.tool_call_id)
        if message.tool_calls:
            total += _structure_bytes(message.tool_calls)
        if message.model_extra:
            total += _structure_bytes(message.model_extra)
    if request.tools or request.response_format:
        total += TOOLS_PREAMBLE_TOKENS
        if request.tools:
            total += _structure_bytes(request.tools)
        if request.response_format:
            total += _structure_bytes(request.response_format)
    if isinstance(request.tool_choice, dict):
        total += _structure_bytes(request.tool_choice)
    return total


def _text_bytes(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def _structure_bytes(value: Any) -> int:
    return 2 * _json_bytes(value)


def _json_bytes(value: Any) -> int:
    try:
        return len(orjson.dumps(value, default=str))
    except orjson.JSONEncodeError:  # text no encoder takes (refused at the edge): its escapes
        return len(json.dumps(value, default=str))


_MEDIA_WITH_DATA = frozenset({"input_audio", "audio", "file", "image", "video", "document"})


def _part_tokens(part: dict[str, Any]) -> int:
    kind = part.get("type")
    text = part.get("text")
    if kind == "text" and isinstance(text, str):
        return _text_bytes(text)
    if kind == "image_url":
        return MEDIA_PART_TOKENS
    if kind in _MEDIA_WITH_DATA:
        # Their data, when they carry it, bounds their tokens; an id gets the allowance.
        return MEDIA_PART_TOKENS + _json_bytes(part)
    return _structure_bytes(part)
