"""Run one operator command: connect, call the handler, print, turn failures into exit 1.

Imports of the SDK happen here, when a command runs, so that ``saasllm-server
--help`` and ``serve`` pay nothing for them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from saasllm_server.operator_cli.failures import describe, error_line
from saasllm_server.operator_cli.output import Output, emit

if TYPE_CHECKING:
    from saasllm import SyncSaaSLLMAdmin

Handler = Callable[["SyncSaaSLLMAdmin", argparse.Namespace], Output]

DEFAULT_URL = "http://127.0.0.1:8003"

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _fail(code: str, message: str, status: int = EXIT_FAILED) -> NoReturn:
    print(error_line(code, message), file=sys.stderr)
    raise SystemExit(status)


def run(handler: Handler, args: argparse.Namespace) -> None:
    url: str = args.url
    if not url.startswith(("http://", "https://")):
        _fail("invalid_url", f"{url!r} is not a gateway URL (e.g. {DEFAULT_URL})", EXIT_USAGE)
    if not args.admin_key:
        _fail("missing_admin_key", "set SAASLLM_ADMIN_KEY or pass --admin-key", EXIT_USAGE)
    from saasllm import SyncSaaSLLMAdmin

    try:
        with SyncSaaSLLMAdmin(url, args.admin_key, timeout=args.timeout) as admin:
            output = handler(admin, args)
    except KeyboardInterrupt:
        raise SystemExit(EXIT_INTERRUPTED) from None
    except Exception as exc:
        known = describe(exc, url=url)
        if known is None:
            raise
        _fail(*known)
    try:
        emit(output, as_json=args.json)
    except BrokenPipeError:
        # `saasllm-server jobs | head`: the reader left, which is not an error. Point
        # stdout at /dev/null so the interpreter's final flush does not complain.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(0) from None
