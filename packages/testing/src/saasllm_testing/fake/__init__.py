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

    python -m saasllm_testing.fake --host 127.0.0.1 --port 0 [--delay-ms N] [--ttft-ms N]

which prints ``READY http://127.0.0.1:<port>`` once listening.

Where things are: :mod:`~saasllm_testing.fake.routes` (the endpoints, in the
order a call is handled), :mod:`~saasllm_testing.fake.scenario` (model-name
knobs and faults, timing), :mod:`~saasllm_testing.fake.replies` and
:mod:`~saasllm_testing.fake.answers` (what is said),
:mod:`~saasllm_testing.fake.faults`, :mod:`~saasllm_testing.fake.non_streaming`
and :mod:`~saasllm_testing.fake.streaming` (how it is sent),
:mod:`~saasllm_testing.fake.wire` (the bytes).
"""

from saasllm_testing.fake.answers import (
    ANSWERS,
    ECHO_WORDS,
    answer_text,
    count_prompt_tokens,
    prompt_text,
    tokens_for,
)
from saasllm_testing.fake.process import FakeUpstreamProcess
from saasllm_testing.fake.replies import BAD_JSON, JSON_PIECE
from saasllm_testing.fake.scenario import ModelSpec, parse_model_name
from saasllm_testing.fake.schema_examples import example_from_schema
from saasllm_testing.fake.server import FakeUpstream, build_app, make_runner, start_fake_upstream
from saasllm_testing.fake.stats import STATS_KEY, FakeStats

__all__ = [
    "ANSWERS",
    "BAD_JSON",
    "ECHO_WORDS",
    "JSON_PIECE",
    "STATS_KEY",
    "FakeStats",
    "FakeUpstream",
    "FakeUpstreamProcess",
    "ModelSpec",
    "answer_text",
    "build_app",
    "count_prompt_tokens",
    "example_from_schema",
    "make_runner",
    "parse_model_name",
    "prompt_text",
    "start_fake_upstream",
    "tokens_for",
]
