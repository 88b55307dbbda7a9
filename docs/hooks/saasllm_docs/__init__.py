"""Build-time support for the docs site: the gateways the examples run against, the
example runner, and the generated reference pages.

Imported by the MkDocs hook (``docs/hooks/saasllm_hooks.py``) and, from there, by the
executed blocks in the pages (``from saasllm_docs.examples import example_output``).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
"""The checkout (or the copy) being built: ``docs/hooks/saasllm_docs/`` is three levels down."""
