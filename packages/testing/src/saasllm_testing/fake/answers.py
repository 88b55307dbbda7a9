"""What the fake says: fixed answers for the seed's prompts, an echo for any other.

Tests compute the exact text they expect with :func:`answer_text` and
:func:`tokens_for` instead of hard-coding it, so an answer can change here
without touching them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import orjson

ANSWERS: dict[str, str] = {
    "Write a short poem about Python": (
        "In Python's realm where code takes flight,\n"
        "With syntax clean and clear as light,\n"
        "We build and dream, create with ease,\n"
        "A language that's designed to please."
    ),
    "Explain quantum computing in 2 sentences": (
        "Quantum computers use qubits, which can hold a superposition of 0 and 1 and become "
        "entangled with each other, so a computation explores many possibilities at once. "
        "For problems such as factoring or simulating molecules, interference between those "
        "possibilities can give exponential speedups over classical machines."
    ),
    "How do I read a CSV file in Python?": (
        "Use the built-in csv module:\n\n"
        "```python\n"
        "import csv\n\n"
        "with open('data.csv', newline='') as f:\n"
        "    for row in csv.DictReader(f):\n"
        "        print(row['name'], row['age'])\n"
        "```\n\n"
        "DictReader maps each row to the header names. For analysis, "
        "pandas.read_csv('data.csv') loads the whole file into a DataFrame."
    ),
    "Write a short sci-fi story (3 paragraphs)": (
        "The signal arrived on a Tuesday, folded inside the static between two dead "
        "satellites. Mara Voss, the only engineer awake on Relay Station Kepler, decoded it "
        "twice before she believed it: a set of coordinates, and a single word, WAIT.\n\n"
        "She waited. For eleven days the station drifted while the coordinates pointed at "
        "empty space, until on the twelfth the stars there bent and a ship the size of a "
        "city unfolded out of nothing, its hull written over with the same word in a "
        "thousand languages.\n\n"
        "When the airlock opened, the visitor was smaller than Mara had imagined and looked "
        "very tired. 'We sent that message ten thousand years ago,' it said. 'Thank you for "
        "being the first to listen.'"
    ),
    "Explain Docker containers": (
        "A Docker container is a lightweight, isolated process that packages an application "
        "with everything it needs: code, runtime, libraries and configuration. Containers "
        "share the host's kernel instead of booting a full operating system, so they start "
        "in seconds and use far less memory than virtual machines. You describe an image in "
        "a Dockerfile, build it once, and run the same image identically on a laptop, a CI "
        "server or a production cluster."
    ),
    "What is machine learning?": (
        "Machine learning is a branch of artificial intelligence in which computers learn "
        "patterns from data instead of following hand-written rules. A model is trained on "
        "examples, then used to make predictions or decisions on new data."
    ),
    "What is deep learning?": (
        "Deep learning is a kind of machine learning that uses neural networks with many "
        "layers. Each layer learns increasingly abstract features, which lets deep models "
        "recognise images, understand speech and generate text."
    ),
    "What is neural network?": (
        "A neural network is a model made of layers of connected units, loosely inspired by "
        "neurons in the brain. Each connection has a weight, and training adjusts those "
        "weights so the network maps inputs to the right outputs."
    ),
    "Write a technical blog post about microservices (500 words)": (
        "# Microservices: Small Services, Big Trade-offs\n\n"
        "Microservices split an application into small, independently deployable services, "
        "each owning one business capability and its own data. Instead of one large "
        "codebase released as a unit, teams ship services on their own schedules and talk "
        "to each other over HTTP or a message broker.\n\n"
        "## Why teams adopt them\n\n"
        "Independent deployment is the main prize: a fix to billing no longer waits for the "
        "search team. Services can scale separately, use the language that suits them, and "
        "fail without taking the whole system down.\n\n"
        "## What they cost\n\n"
        "Every network call can fail, so retries, timeouts and circuit breakers become part "
        "of the design. Data is spread across services, which turns simple joins into API "
        "calls and transactions into sagas. Observability is mandatory: distributed tracing, "
        "structured logs and metrics are how you find the slow hop in a request that crossed "
        "six services.\n\n"
        "## When to use them\n\n"
        "Start with a well-structured monolith, draw clear module boundaries, and extract a "
        "service only when a boundary needs its own deployment or scaling. Microservices "
        "solve organisational problems as much as technical ones; adopt them when the "
        "team's size demands it, not before."
    ),
    "Explain blockchain technology": (
        "A blockchain is a shared ledger that many computers keep in sync without a central "
        "authority. Transactions are grouped into blocks, and each block contains a "
        "cryptographic hash of the previous one, so changing old data would break every "
        "later link. Participants agree on the next block through a consensus mechanism "
        "such as proof of work or proof of stake, which makes the history tamper-evident."
    ),
    "What is FastAPI?": (
        "FastAPI is a modern, fast web framework for building APIs with Python, based on "
        "type hints, with automatic validation and OpenAPI documentation."
    ),
}
"""Fixed answers by prompt; any other prompt is echoed (see the package docstring)."""

ECHO_WORDS: Final = 64

_TOKEN_RE: Final = re.compile(r"\s*\S+")


def answer_text(prompt: str) -> str:
    """The full answer to ``prompt`` before chunking and truncation."""
    known = ANSWERS.get(prompt)
    if known is None:
        known = ANSWERS.get(prompt.strip())
    if known is not None:
        return known
    return " ".join(["Echo:", *prompt.split()[:ECHO_WORDS]])


@dataclass(frozen=True, slots=True)
class TextPlan:
    """An answer's tokens, and each one already encoded as a chunk's ``delta``.

    Encoded once per prompt: the benchmark streams the same answer thousands of
    times, and the fake must stay cheap next to the gateway it measures.
    """

    tokens: tuple[str, ...]
    deltas: tuple[bytes, ...]


@lru_cache(maxsize=2048)
def text_plan(prompt: str, n_tokens: int | None) -> TextPlan:
    """The plan for ``prompt``; ``n_tokens`` (a ``-t`` part) cycles the answer to that length."""
    base = _TOKEN_RE.findall(answer_text(prompt)) or ["Echo:"]
    if n_tokens is None:
        tokens = tuple(base)
    else:
        cycled: list[str] = []
        for i in range(n_tokens):
            token = base[i % len(base)]
            if i >= len(base) and i % len(base) == 0 and not token[:1].isspace():
                token = " " + token
            cycled.append(token)
        tokens = tuple(cycled)
    deltas = tuple(b'{"content":' + orjson.dumps(t) + b"}" for t in tokens)
    return TextPlan(tokens, deltas)


def tokens_for(
    prompt: str, max_tokens: int | None = None, *, n_tokens: int | None = None
) -> list[str]:
    """The exact content chunks the fake streams for ``prompt`` (``n_tokens`` = a ``-t`` part)."""
    tokens = text_plan(prompt, n_tokens).tokens
    return list(tokens if max_tokens is None else tokens[:max_tokens])


def prompt_text(messages: object) -> str:
    """The last user message's text: string content, or its text parts joined by spaces."""
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def count_prompt_tokens(messages: object) -> int:
    """Deterministic stand-in for a tokenizer: words + 3 per message."""
    if not isinstance(messages, list):
        return 0
    return sum(
        len(_content_text(m.get("content")).split()) + 3 for m in messages if isinstance(m, dict)
    )
