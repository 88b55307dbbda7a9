"""``nox -s bench``: what the gateway adds to a streamed LLM call, measured, not asserted.

Three targets serve the same fake upstream: ``direct`` (no hop), ``bare`` (the
cheapest honest relay: FastAPI + uvicorn + one aiohttp session, bytes untouched)
and ``gateway`` (the real server with auth, credits, rate limits and accounting).
Comparing the gateway with ``bare`` separates the cost of governance from the
cost of being an HTTP hop at all; comparing with ``direct`` gives the latency a
user actually sees. Run it with ``python -m bench``.
"""
