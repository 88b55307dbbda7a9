"""Token counts when an upstream reports none, from litellm's offline tokenizer."""

from __future__ import annotations

import litellm

from saasllm_schema import ChatRequest
from saasllm_server.upstreams.router import Deployment


def estimate_prompt_tokens(deployment: Deployment, request: ChatRequest) -> int:
    messages = [m.model_dump(exclude_none=True) for m in request.messages]
    try:
        return int(litellm.token_counter(model=deployment.litellm_model, messages=messages))
    except Exception:  # the tokenizer must never fail a call's accounting
        return 0


def warm_up() -> None:
    """The first count loads tiktoken (~0.3 s): pay it at start-up, not in a request."""
    litellm.token_counter(model="gpt-4o", text="warm up")
