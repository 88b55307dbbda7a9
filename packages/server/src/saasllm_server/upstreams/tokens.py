"""Token counts when an upstream reports none, from litellm's offline tokenizer.

Only calls that delivered something without the upstream's usage figures need them (a
stream cut or left before its usage event, an old server, a stream's progress): rare
or once per interval, never per chunk. None means litellm could not count: the caller
decides what stands in (a bound, or nothing).
"""

from __future__ import annotations

import litellm

from saasllm_schema import ChatRequest
from saasllm_server.upstreams.router import Deployment


def estimate_prompt_tokens(deployment: Deployment, request: ChatRequest) -> int | None:
    messages = [m.model_dump(exclude_none=True) for m in request.messages]
    try:
        return int(litellm.token_counter(model=deployment.litellm_model, messages=messages))
    except Exception:  # the tokenizer must never fail a call's accounting
        return None


def estimate_text_tokens(deployment: Deployment, text: str) -> int | None:
    try:
        return int(litellm.token_counter(model=deployment.litellm_model, text=text))
    except Exception:
        return None


def warm_up() -> None:
    """The first count loads tiktoken (~0.3 s): pay it at start-up, not in a request."""
    litellm.token_counter(model="gpt-4o", text="warm up")
