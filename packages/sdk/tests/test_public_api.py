"""Pins the SDK's public surface to its reference pages: a public name is a documented one.

A name added to ``saasllm.__all__`` without a page describing it fails here, and
so does a ``::: saasllm.X`` directive for a name that is not exported.
"""

from __future__ import annotations

import re
from pathlib import Path

import saasllm
import saasllm_schema
from saasllm import _errors

REFERENCE = Path(__file__).resolve().parents[3] / "docs" / "reference"

# Public, but described in prose (or in the schema's page) rather than by a directive.
IN_PROSE = {
    "JobAlreadyCompletedError",
    "JobId",
    "Message",
    "ResponseMessage",
    "SaasLiteLLMClient",
    "SyncSaasLiteLLMClient",
    "__version__",
}


def directives(page: str, package: str) -> set[str]:
    text = (REFERENCE / page).read_text()
    return set(re.findall(rf"^::: {package}\.(\w+)$", text, flags=re.MULTILINE))


def test_public_names_are_the_documented_ones() -> None:
    documented = directives("sdk.md", "saasllm") | directives("errors.md", "saasllm")
    schema_models = {
        name for name in saasllm.__all__ if getattr(saasllm_schema, name, None) is not None
    }
    assert schema_models - IN_PROSE <= directives("schema.md", "saasllm_schema")
    assert set(saasllm.__all__) == documented | schema_models | IN_PROSE
    for name in saasllm.__all__:
        assert hasattr(saasllm, name), name


def test_every_exception_class_is_public() -> None:
    classes = {
        name
        for name, value in vars(_errors).items()
        if isinstance(value, type) and issubclass(value, saasllm.SaaSLLMError)
    }
    assert classes == set(_errors.__all__) <= set(saasllm.__all__)


def test_no_server_or_litellm_imports_in_sdk_source() -> None:
    source = Path(saasllm.__file__).parent
    for path in source.rglob("*.py"):
        text = path.read_text()
        for banned in ("saasllm_server", "litellm", "fastapi"):
            assert f"import {banned}" not in text, (path, banned)
            assert f"from {banned}" not in text, (path, banned)
