"""Upstream LLM providers: routing, the relay, the litellm adapter, the fake and the local model."""
