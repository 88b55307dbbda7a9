"""``python -m saasllm_testing.local_model``: serve the model until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
from pathlib import Path

from saasllm_testing.local_model.model_file import (
    DEFAULT_ALIAS,
    INSTALL_HINT,
    LocalModelUnavailable,
    find_model_path,
    runtime_installed,
)
from saasllm_testing.local_model.serving import ServeOptions, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m saasllm_testing.local_model",
        description="Serve SmolLM2-135M-Instruct on 127.0.0.1 with llama.cpp (xllamacpp).",
    )
    parser.add_argument("--model", type=Path, default=None, help="GGUF path (default: found)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--threads", type=int, default=1, help="1 is robust on a busy 2-core box")
    parser.add_argument("--alias", default=DEFAULT_ALIAS, help="the model id clients send")
    parser.add_argument("--ctx", type=int, default=2048, help="context length in tokens")
    parser.add_argument(
        "--max-tokens", type=int, default=200, help="answer length when a request sets none"
    )
    parser.add_argument("--repeat-penalty", type=float, default=1.15, help="1.0 turns it off")
    parser.add_argument("--dry-multiplier", type=float, default=0.8, help="0 turns DRY off")
    args = parser.parse_args(argv)
    model_path: Path
    try:
        model_path = find_model_path() if args.model is None else args.model
        if not runtime_installed():
            raise LocalModelUnavailable(f"the xllamacpp wheel is not installed; {INSTALL_HINT}")
    except LocalModelUnavailable as exc:
        parser.exit(2, f"error: {exc}\n")
    if not model_path.is_file():
        parser.exit(2, f"error: model file {model_path} does not exist\n")
    serve(
        ServeOptions(
            model_path=model_path,
            port=args.port,
            threads=args.threads,
            alias=args.alias,
            ctx=args.ctx,
            max_tokens=args.max_tokens,
            repeat_penalty=args.repeat_penalty,
            dry_multiplier=args.dry_multiplier,
        )
    )
