"""Test doubles and child-process supervision for saasllm; never imported by the gateway itself.

``saasllm_testing.fake``
    The deterministic OpenAI-compatible fake upstream (exact text, timing, faults).
``saasllm_testing.local_model``
    The real small local model (llama.cpp via ``xllamacpp``) as an upstream.
``saasllm_testing.supervisor``
    Starting a child, waiting until it is ready, stopping it, keeping its log.
``saasllm_testing.ports``
    ``free_port`` and ``port_in_use``.

The production server wheel does not depend on this package; ``saasllm-server demo``
imports it only when it runs (install ``saasllm-server[demo]``).
"""
