"""A deterministic OpenAI-compatible fake upstream, always reached over real HTTP.

The test suite needs exact text, exact timing and reproducible faults; the
benchmark needs an upstream that burns almost no CPU next to the gateway on a
2-core box; the demo's ``--fake`` mode needs plausible answers offline. One
aiohttp server serves all three: chunks are assembled from pre-encoded bytes
(no pydantic, orjson only where a value varies), each SSE event is written
separately (aiohttp sets TCP_NODELAY on every connection).

Endpoints
    ``POST /v1/chat/completions`` (also ``/chat/completions``): stream and non-stream.
    ``GET /v1/models``, ``GET /health``.
    ``GET /stats`` and ``POST /stats/reset``: counters for tests (below).
    Any ``Authorization`` header is accepted.

Answers
    The prompt is the text of the last ``user`` message. A prompt found in
    :data:`ANSWERS` gets that answer; any other prompt gets ``"Echo: "`` followed
    by its first 64 words joined by single spaces. The answer is split into
    tokens with ``re.findall(r"\\s*\\S+", text)`` (each word with its leading
    whitespace); each token is one SSE chunk. ``max_tokens`` /
    ``max_completion_tokens`` keeps the first N tokens with ``finish_reason``
    ``"length"``; otherwise ``"stop"``. :func:`tokens_for` computes the exact
    token list, so tests never hard-code answers.

    ``response_format`` ``json_schema``: a JSON document valid for the schema,
    derived from it (:func:`example_from_schema`); ``json_object``:
    ``{"answer": "<answer text>"}``. ``tools`` (unless ``tool_choice`` is
    ``"none"``): one call to the first tool (or the one ``tool_choice`` names),
    arguments generated from its parameters schema, ``finish_reason``
    ``"tool_calls"``. JSON text and tool arguments stream in 8-character pieces
    and ignore ``max_tokens`` (they would stop being JSON).

    ``prompt_tokens`` = for each message, its words (string content or text
    parts) + 3; ``completion_tokens`` = the number of content chunks.

Knobs (model-name parts win over headers, headers over the server default)
    ``-d<ms>``   delay between content chunks (header ``x-fake-delay-ms``,
                 default ``--delay-ms`` / ``FAKE_DELAY_MS``).
    ``-f<ms>``   delay after the response headers, before the first chunk
                 (header ``x-fake-ttft-ms``, default ``--ttft-ms`` / ``FAKE_TTFT_MS``).
    ``-t<N>``    exactly N text tokens: the answer's tokens, cycled.

    Non-streaming answers wait ``ttft + delay * (tokens - 1)`` before replying.
    Model names are ``<base>-<part>-<part>...``: the base is anything without a
    dash, a ``provider/`` prefix is ignored, unknown parts are ignored, e.g.
    ``fake``, ``fake-d20``, ``fake-d0-t100``, ``openai/fake-d50-cut5``.

Fault models (model-name parts, composable with the knobs and with each other)
    ``-429``         429 with ``Retry-After`` (``-r<s>`` sets it, default 1) and an
                     OpenAI ``rate_limit_error`` / ``rate_limit_exceeded`` body.
    ``-500``         500 with an OpenAI ``server_error`` body.
    ``-503``         503 with ``Retry-After`` (``-r<s>``, default 1).
    ``-cut<N>``      stream the role chunk and N content chunks, then close the
                     connection: no finish chunk, no usage, no ``[DONE]``, and the
                     chunked body never terminates (a protocol error for the
                     client). Non-stream: the connection closes with no response.
    ``-stall``       stream the role chunk and the first content chunk, then
                     nothing until the client goes away. Non-stream: like ``-hang``.
    ``-slowfirst<ms>`` wait before sending anything, headers included.
    ``-hang``        never answer; wait until the client goes away.
    ``-badjson``     the answer content is ``{"oops": `` (invalid JSON), whatever
                     ``response_format`` or ``tools`` ask for.

    ``-slowfirst`` and ``-hang`` run before the error faults, so
    ``fake-slowfirst500-429`` answers 429 after half a second.

Stats (``GET /stats``)
    ``{"requests", "streams_started", "streams_completed", "streams_disconnected",
    "streams_aborted", "abandoned", "open_streams", "requests_by_model",
    "last_request", "last_headers"}``. ``requests`` counts chat completion calls;
    ``streams_disconnected`` counts streams whose client went away (a failed
    write, or the handler cancelled on disconnect: the runner is built with
    ``handler_cancellation=True``); ``streams_aborted`` counts ``-cut`` streams;
    ``abandoned`` counts calls whose client left before the response headers.
    ``last_request`` is the last chat request body as received.

Run in-process with :func:`start_fake_upstream`, as a child process with
:class:`FakeUpstreamProcess`, or from a shell::

    python -m saasllm_server.upstreams.fake --host 127.0.0.1 --port 0 [--delay-ms N] [--ttft-ms N]

which prints ``READY http://127.0.0.1:<port>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import orjson
from aiohttp import web
from multidict import CIMultiDictProxy

from saasllm_server.upstreams.local_model import READY_PREFIX, ServiceProcess

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
"""Fixed answers by prompt; any other prompt is echoed (see the module docstring)."""

BAD_JSON: Final = '{"oops": '
ECHO_WORDS: Final = 64
JSON_PIECE: Final = 8

_TOKEN_RE: Final = re.compile(r"\s*\S+")
_PART_RE: Final = re.compile(
    r"(?P<knob>d|f|t|r|cut|slowfirst)(?P<num>\d+(?:\.\d+)?)|(?P<flag>429|500|503|stall|hang|badjson)"
)
_ROLE_DELTA: Final = b'{"role":"assistant","content":""}'
_DONE: Final = b"data: [DONE]\n\n"
_ERROR_BODIES: Final[dict[int, tuple[str, str, str]]] = {
    429: (
        "Rate limit reached (simulated by the fake upstream).",
        "rate_limit_error",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error processing your request (simulated).",
        "server_error",
        "internal_error",
    ),
    503: ("The engine is currently overloaded (simulated).", "server_error", "service_unavailable"),
}


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What a model name asks of the fake: knobs (None = not set) and faults."""

    delay_ms: float | None = None
    ttft_ms: float | None = None
    n_tokens: int | None = None
    status: int | None = None
    retry_after: int = 1
    cut_after: int | None = None
    stall: bool = False
    slowfirst_ms: float = 0.0
    hang: bool = False
    badjson: bool = False


@lru_cache(maxsize=1024)
def parse_model_name(model: str) -> ModelSpec:
    """Read knobs and faults from the dash-separated parts after the base name."""
    values: dict[str, Any] = {}
    for part in model.rsplit("/", 1)[-1].split("-")[1:]:
        match = _PART_RE.fullmatch(part)
        if match is None:
            continue
        flag = match["flag"]
        if flag is not None:
            if flag.isdigit():
                values["status"] = int(flag)
            else:
                values[flag] = True
            continue
        num = float(match["num"])
        knob = match["knob"]
        if knob == "d":
            values["delay_ms"] = num
        elif knob == "f":
            values["ttft_ms"] = num
        elif knob == "t":
            values["n_tokens"] = int(num)
        elif knob == "r":
            values["retry_after"] = max(0, math.ceil(num))
        elif knob == "cut":
            values["cut_after"] = int(num)
        else:
            values["slowfirst_ms"] = num
    return ModelSpec(**values)


def answer_text(prompt: str) -> str:
    """The full answer to ``prompt`` before chunking and truncation."""
    known = ANSWERS.get(prompt)
    if known is None:
        known = ANSWERS.get(prompt.strip())
    if known is not None:
        return known
    return " ".join(["Echo:", *prompt.split()[:ECHO_WORDS]])


@dataclass(frozen=True, slots=True)
class _TextPlan:
    tokens: tuple[str, ...]
    deltas: tuple[bytes, ...]


@lru_cache(maxsize=2048)
def _text_plan(prompt: str, n_tokens: int | None) -> _TextPlan:
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
    return _TextPlan(tokens, deltas)


def tokens_for(
    prompt: str, max_tokens: int | None = None, *, n_tokens: int | None = None
) -> list[str]:
    """The exact content chunks the fake streams for ``prompt`` (``n_tokens`` = a ``-t`` part)."""
    tokens = _text_plan(prompt, n_tokens).tokens
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


# --- JSON Schema → example document -------------------------------------------------------

_MAX_DEPTH: Final = 12
_STRING_FORMATS: Final[dict[str, str]] = {
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "iri": "https://example.com",
    "hostname": "example.com",
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00",
    "duration": "P1D",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}
_PATTERN_CANDIDATES: Final = (
    "example",
    "user@example.com",
    "https://example.com",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "00000000-0000-4000-8000-000000000000",
    "Example",
    "EXAMPLE",
    "abc",
    "a",
    "0",
    "1",
    "123",
    "example-1",
    "example_1",
)


def example_from_schema(schema: object, root: object = None) -> Any:
    """A deterministic document valid for a JSON Schema, as far as structure goes.

    Objects get every property (nested objects and ``$ref``/``$defs`` included),
    arrays one item (or ``minItems``), enums their first value, ``anyOf``/``oneOf``
    their first non-null branch, strings ``"example"`` or a value fitting their
    ``format``; for a ``pattern`` the first of a few stock strings that matches is
    used, numbers respect their bounds, booleans are false. ``uniqueItems``,
    ``multipleOf`` and ``not`` are not honoured.
    """
    return _example(schema, schema if root is None else root, 0)


def _resolve_ref(root: object, ref: str) -> object:
    if not ref.startswith("#"):
        return {}
    node = root
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return {}
    return node


def _is_null_schema(schema: object) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _example(schema: object, root: object, depth: int) -> Any:
    if depth > _MAX_DEPTH or not isinstance(schema, dict):
        return None if depth > _MAX_DEPTH else "example"
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _resolve_ref(root, ref)
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        merged = {**target, **rest} if isinstance(target, dict) else rest
        return _example(merged, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            non_null = [b for b in branches if not _is_null_schema(b)]
            return _example((non_null or branches)[0], root, depth + 1)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        parts = [_example(s, root, depth + 1) for s in all_of]
        if all(isinstance(p, dict) for p in parts):
            return {k: v for p in parts for k, v in p.items()}
        return parts[0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        if "properties" in schema:
            kind = "object"
        elif "items" in schema or "prefixItems" in schema:
            kind = "array"
    if kind == "object":
        return _example_object(schema, root, depth)
    if kind == "array":
        return _example_array(schema, root, depth)
    if kind in ("integer", "number"):
        return _example_number(schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _example_string(schema)


def _example_object(schema: dict[str, Any], root: object, depth: int) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = schema.get("required")
    names: list[str] = list(properties)
    if depth > _MAX_DEPTH // 2 and isinstance(required, list):
        names = [n for n in names if n in required]
    return {name: _example(properties[name], root, depth + 1) for name in names}


def _example_array(schema: dict[str, Any], root: object, depth: int) -> list[Any]:
    prefix = schema.get("prefixItems")
    if isinstance(prefix, list):
        return [_example(s, root, depth + 1) for s in prefix]
    low = schema.get("minItems", 0)
    high = schema.get("maxItems")
    count = max(1, low if isinstance(low, int) else 0)
    if isinstance(high, int):
        count = min(count, high)
    if depth > _MAX_DEPTH // 2:
        count = low if isinstance(low, int) else 0
    item = schema.get("items", {})
    return [_example(item, root, depth + 1) for _ in range(count)]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _bound(
    schema: dict[str, Any], inclusive: str, exclusive: str, *, lower: bool
) -> tuple[float | None, bool]:
    """One side of a numeric range as (value, is_exclusive), draft 4 and draft 6+ alike."""
    value = _number(schema.get(inclusive))
    flag = schema.get(exclusive)
    if isinstance(flag, bool):
        return value, flag and value is not None
    limit = _number(flag)
    if limit is None:
        return value, False
    if value is not None and (value > limit if lower else value < limit):
        return value, False
    return limit, True


def _example_number(schema: dict[str, Any], *, integer: bool) -> int | float:
    low, low_x = _bound(schema, "minimum", "exclusiveMinimum", lower=True)
    high, high_x = _bound(schema, "maximum", "exclusiveMaximum", lower=False)
    step = 1.0 if integer or low is None or high is None else min(1.0, (high - low) / 2)

    def fits(v: float) -> bool:
        above = low is None or (v > low if low_x else v >= low)
        below = high is None or (v < high if high_x else v <= high)
        return above and below

    candidates: list[float] = [0.0]
    if low is not None:
        start = math.ceil(low) if integer else low
        candidates += [start, start + step]
    if high is not None:
        end = math.floor(high) if integer else high
        candidates += [end, end - step]
    for value in candidates:
        if fits(value):
            return int(value) if integer else value
    return int(low or 0) if integer else (low or 0.0)


def _example_string(schema: dict[str, Any]) -> str:
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")
    low = low if isinstance(low, int) else 0
    high = high if isinstance(high, int) else None

    def fits(v: str) -> bool:
        return len(v) >= low and (high is None or len(v) <= high)

    fmt = schema.get("format")
    pattern = schema.get("pattern")
    if isinstance(fmt, str) and fmt in _STRING_FORMATS:
        return _STRING_FORMATS[fmt]
    if isinstance(pattern, str):
        try:
            compiled = re.compile(pattern)
        except re.error:
            compiled = None
        if compiled is not None:
            for candidate in _PATTERN_CANDIDATES:
                if compiled.search(candidate) and fits(candidate):
                    return candidate
    value = "example"
    if len(value) < low:
        value += "x" * (low - len(value))
    return value if high is None else value[:high]


# --- the server ---------------------------------------------------------------------------


@dataclass(slots=True)
class FakeStats:
    """Counters behind ``GET /stats``; see the module docstring for their meaning."""

    requests: int = 0
    streams_started: int = 0
    streams_completed: int = 0
    streams_disconnected: int = 0
    streams_aborted: int = 0
    abandoned: int = 0
    open_streams: int = 0
    requests_by_model: dict[str, int] = field(default_factory=dict)
    last_request: object = None
    last_headers: CIMultiDictProxy[str] | None = None

    def reset(self) -> None:
        """Zero the counters; ``open_streams`` is a live gauge and is kept."""
        self.requests = self.streams_started = self.streams_completed = 0
        self.streams_disconnected = self.streams_aborted = self.abandoned = 0
        self.requests_by_model = {}
        self.last_request = None
        self.last_headers = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "streams_started": self.streams_started,
            "streams_completed": self.streams_completed,
            "streams_disconnected": self.streams_disconnected,
            "streams_aborted": self.streams_aborted,
            "abandoned": self.abandoned,
            "open_streams": self.open_streams,
            "requests_by_model": dict(self.requests_by_model),
            "last_request": self.last_request,
            "last_headers": (
                {str(k): v for k, v in self.last_headers.items()}
                if self.last_headers is not None
                else None
            ),
        }


@dataclass(frozen=True, slots=True)
class _Config:
    delay_ms: float
    ttft_ms: float


@dataclass(slots=True)
class _Answer:
    deltas: Sequence[bytes]
    finish_reason: str
    content: str | None
    tool_call: dict[str, Any] | None = None


STATS_KEY: Final = web.AppKey("fake_stats", FakeStats)
_CONFIG_KEY: Final = web.AppKey("fake_config", _Config)


def _json_response(
    payload: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(payload), status=status, content_type="application/json", headers=headers
    )


def _error_response(status: int, retry_after: int | None = None) -> web.Response:
    message, kind, code = _ERROR_BODIES[status]
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return _json_response(body, status, headers)


def _header_ms(request: web.Request, name: str) -> float | None:
    raw = request.headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _chosen_tool(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if not isinstance(tools, list) or not tools or choice == "none":
        return None
    functions: list[Mapping[str, Any]] = [
        t["function"] for t in tools if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    if not functions:
        return None
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        wanted = choice["function"].get("name")
        for function in functions:
            if function.get("name") == wanted:
                return function
    return functions[0]


def _pieces(text: str) -> list[str]:
    return [text[i : i + JSON_PIECE] for i in range(0, len(text), JSON_PIECE)]


def _json_answer(text: str) -> _Answer:
    deltas = [b'{"content":' + orjson.dumps(piece) + b"}" for piece in _pieces(text)]
    return _Answer(deltas, "stop", text)


def _tool_answer(function: Mapping[str, Any], call_id: str) -> _Answer:
    name = str(function.get("name", "tool"))
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    arguments = orjson.dumps(example_from_schema(parameters)).decode()
    header = {
        "tool_calls": [
            {
                "index": 0,
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
        ]
    }
    deltas = [orjson.dumps(header)]
    deltas += [
        b'{"tool_calls":[{"index":0,"function":{"arguments":' + orjson.dumps(piece) + b"}}]}"
        for piece in _pieces(arguments)
    ]
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    return _Answer(deltas, "tool_calls", None, call)


def _answer(body: Mapping[str, Any], spec: ModelSpec, call_id: str) -> _Answer:
    if spec.badjson:
        return _json_answer(BAD_JSON)
    tool = _chosen_tool(body)
    if tool is not None:
        return _tool_answer(tool, call_id)
    prompt = prompt_text(body.get("messages"))
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        kind = response_format.get("type")
        if kind == "json_schema":
            wrapper = response_format.get("json_schema")
            schema = wrapper.get("schema") if isinstance(wrapper, dict) else None
            return _json_answer(orjson.dumps(example_from_schema(schema or {})).decode())
        if kind == "json_object":
            return _json_answer(orjson.dumps({"answer": answer_text(prompt)}).decode())
    plan = _text_plan(prompt, spec.n_tokens)
    limit = _max_tokens(body)
    if limit is not None and limit < len(plan.tokens):
        return _Answer(plan.deltas[:limit], "length", "".join(plan.tokens[:limit]))
    return _Answer(plan.deltas, "stop", "".join(plan.tokens))


async def _forever() -> None:
    await asyncio.get_running_loop().create_future()


def _close_connection(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.close()


async def _chat(request: web.Request) -> web.StreamResponse:
    stats = request.app[STATS_KEY]
    config = request.app[_CONFIG_KEY]
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        return _json_response(
            {"error": {"message": f"invalid JSON body: {exc}", "type": "invalid_request_error"}},
            400,
        )
    if not isinstance(body, dict):
        return _json_response(
            {
                "error": {
                    "message": "the body must be a JSON object",
                    "type": "invalid_request_error",
                }
            },
            400,
        )
    model = body.get("model")
    model_name = model if isinstance(model, str) and model else "fake"
    stats.requests += 1
    stats.requests_by_model[model_name] = stats.requests_by_model.get(model_name, 0) + 1
    stats.last_request = body
    stats.last_headers = request.headers
    number = stats.requests
    spec = parse_model_name(model_name)
    stream = body.get("stream") is True

    try:
        if spec.hang or (spec.stall and not stream):
            await _forever()
        if spec.slowfirst_ms > 0:
            await asyncio.sleep(spec.slowfirst_ms / 1000)
    except asyncio.CancelledError:
        stats.abandoned += 1
        raise
    if spec.status is not None:
        retry_after = spec.retry_after if spec.status in (429, 503) else None
        return _error_response(spec.status, retry_after)

    delay_ms = spec.delay_ms
    if delay_ms is None:
        delay_ms = _header_ms(request, "x-fake-delay-ms")
    ttft_ms = spec.ttft_ms
    if ttft_ms is None:
        ttft_ms = _header_ms(request, "x-fake-ttft-ms")
    delay = (config.delay_ms if delay_ms is None else delay_ms) / 1000
    ttft = (config.ttft_ms if ttft_ms is None else ttft_ms) / 1000

    answer = _answer(body, spec, f"call_fake{number}")
    prompt_tokens = count_prompt_tokens(body.get("messages"))
    completion_tokens = len(answer.deltas)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    response_id = f"chatcmpl-fake{number}"
    created = int(time.time())

    if not stream:
        try:
            wait = ttft + delay * max(completion_tokens - 1, 0)
            if wait > 0:
                await asyncio.sleep(wait)
        except asyncio.CancelledError:
            stats.abandoned += 1
            raise
        if spec.cut_after is not None:
            _close_connection(request)
            return web.Response()
        message: dict[str, Any] = {"role": "assistant", "content": answer.content}
        if answer.tool_call is not None:
            message["tool_calls"] = [answer.tool_call]
        return _json_response(
            {
                "id": response_id,
                "object": "chat.completion",
                "created": created,
                "model": model_name,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": answer.finish_reason,
                    }
                ],
                "usage": usage,
            }
        )

    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    head = (
        b'data: {"id":"'
        + response_id.encode()
        + b'","object":"chat.completion.chunk","created":'
        + str(created).encode()
        + b',"model":'
        + orjson.dumps(model_name)
    )
    prefix = head + b',"choices":[{"index":0,"delta":'
    tail = b',"logprobs":null,"finish_reason":null}]' + (
        b',"usage":null}\n\n' if include_usage else b"}\n\n"
    )
    finish = (
        prefix
        + b'{},"logprobs":null,"finish_reason":"'
        + answer.finish_reason.encode()
        + (b'"}],"usage":null}\n\n' if include_usage else b'"}]}\n\n')
    )

    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
    )
    stats.streams_started += 1
    stats.open_streams += 1
    try:
        await response.prepare(request)
        if ttft > 0:
            await asyncio.sleep(ttft)
        await response.write(prefix + _ROLE_DELTA + tail)
        if spec.stall and not answer.deltas:
            await _forever()
        for index, delta in enumerate(answer.deltas):
            if index == spec.cut_after:
                break
            if index and delay > 0:
                await asyncio.sleep(delay)
            await response.write(prefix + delta + tail)
            if spec.stall:
                await _forever()
        if spec.cut_after is not None:
            stats.streams_aborted += 1
            _close_connection(request)
            return response
        await response.write(finish)
        if include_usage:
            await response.write(head + b',"choices":[],"usage":' + orjson.dumps(usage) + b"}\n\n")
        await response.write(_DONE)
        stats.streams_completed += 1
    except asyncio.CancelledError:
        stats.streams_disconnected += 1
        raise
    except ConnectionError:
        stats.streams_disconnected += 1
    finally:
        stats.open_streams -= 1
    return response


async def _models(request: web.Request) -> web.Response:
    created = 1700000000
    return _json_response(
        {
            "object": "list",
            "data": [
                {"id": "fake", "object": "model", "created": created, "owned_by": "saasllm-fake"}
            ],
        }
    )


async def _health(request: web.Request) -> web.Response:
    return _json_response({"status": "ok"})


async def _stats(request: web.Request) -> web.Response:
    return _json_response(request.app[STATS_KEY].as_dict())


async def _stats_reset(request: web.Request) -> web.Response:
    stats = request.app[STATS_KEY]
    stats.reset()
    return _json_response(stats.as_dict())


def build_app(*, delay_ms: float = 0, ttft_ms: float = 0) -> web.Application:
    """The fake as an aiohttp application; ``delay_ms``/``ttft_ms`` are the server defaults.

    Run it with :func:`make_runner` (or pass ``handler_cancellation=True`` to your
    own runner): without it a client disconnect does not cancel the handler, so
    stalled streams are never counted as disconnected.
    """
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATS_KEY] = FakeStats()
    app[_CONFIG_KEY] = _Config(delay_ms=delay_ms, ttft_ms=ttft_ms)
    app.router.add_post("/v1/chat/completions", _chat)
    app.router.add_post("/chat/completions", _chat)
    app.router.add_get("/v1/models", _models)
    app.router.add_get("/models", _models)
    app.router.add_get("/health", _health)
    app.router.add_get("/stats", _stats)
    app.router.add_post("/stats/reset", _stats_reset)
    return app


def make_runner(app: web.Application) -> web.AppRunner:
    """A runner that cancels handlers on disconnect, skips access logs and shuts down fast."""
    return web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5)


class FakeUpstream:
    """A fake upstream running in the current event loop."""

    def __init__(self, runner: web.AppRunner, url: str) -> None:
        self._runner = runner
        self._url = url

    @property
    def url(self) -> str:
        """Base URL without ``/v1``, e.g. ``http://127.0.0.1:43121``."""
        return self._url

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url``: :attr:`url` + ``/v1``."""
        return self._url + "/v1"

    @property
    def stats(self) -> FakeStats:
        """Live counters, without an HTTP round trip."""
        app = self._runner.app
        assert app is not None
        return app[STATS_KEY]

    async def close(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def start_fake_upstream(
    host: str = "127.0.0.1", port: int = 0, *, delay_ms: float = 0, ttft_ms: float = 0
) -> FakeUpstream:
    """Listen on ``host:port`` (0 = a free port) in the running loop."""
    runner = make_runner(build_app(delay_ms=delay_ms, ttft_ms=ttft_ms))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    return FakeUpstream(runner, f"http://{_url_host(bound_host)}:{bound_port}")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class FakeUpstreamProcess(ServiceProcess):
    """The fake upstream in a child process, so its CPU and event loop are its own.

    Same API as :class:`~saasllm_server.upstreams.local_model.LocalModelProcess`;
    :attr:`alias` is ``"fake"``.
    """

    module = "saasllm_server.upstreams.fake"
    display_name = "the fake upstream"

    @staticmethod
    def _args(host: str, port: int, delay_ms: float, ttft_ms: float) -> list[str]:
        return [
            "--host",
            host,
            "--port",
            str(port),
            "--delay-ms",
            repr(delay_ms),
            "--ttft-ms",
            repr(ttft_ms),
        ]

    @classmethod
    async def start(
        cls,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_ms: float = 0,
        ttft_ms: float = 0,
        ready_timeout: float = 30,
        log_path: Path | None = None,
    ) -> Self:
        """Spawn the fake and wait for READY; raises ``ServiceStartError`` on failure."""
        return await cls._spawn(
            cls._args(host, port, delay_ms, ttft_ms),
            alias="fake",
            ready_timeout=ready_timeout,
            log_path=log_path,
        )

    @classmethod
    def start_sync(
        cls,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_ms: float = 0,
        ttft_ms: float = 0,
        ready_timeout: float = 30,
        log_path: Path | None = None,
    ) -> Self:
        """Blocking twin of :meth:`start`."""
        return cls._spawn_sync(
            cls._args(host, port, delay_ms, ttft_ms),
            alias="fake",
            ready_timeout=ready_timeout,
            log_path=log_path,
        )


def _env_ms(name: str) -> float:
    try:
        return float(os.environ.get(name, "0") or 0)
    except ValueError:
        return 0.0


async def _serve(host: str, port: int, delay_ms: float, ttft_ms: float) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    upstream = await start_fake_upstream(host, port, delay_ms=delay_ms, ttft_ms=ttft_ms)
    try:
        print(f"{READY_PREFIX}{upstream.url}", flush=True)
        await stop.wait()
    finally:
        await upstream.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m saasllm_server.upstreams.fake",
        description="Deterministic OpenAI-compatible fake upstream (see the module docstring).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--delay-ms",
        type=float,
        default=_env_ms("FAKE_DELAY_MS"),
        help="default FAKE_DELAY_MS or 0",
    )
    parser.add_argument(
        "--ttft-ms", type=float, default=_env_ms("FAKE_TTFT_MS"), help="default FAKE_TTFT_MS or 0"
    )
    args = parser.parse_args(argv)
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_serve(args.host, args.port, args.delay_ms, args.ttft_ms))


if __name__ == "__main__":
    main()
