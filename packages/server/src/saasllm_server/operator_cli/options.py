"""Options every operator command shares, value parsers, and the one way to add a command."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from functools import partial
from typing import TypeAlias

from saasllm_server.operator_cli.runner import DEFAULT_URL, Handler, run

# argparse's class is generic only to type checkers, hence the string.
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def connection_options() -> argparse.ArgumentParser:
    """A parent parser: the options go after the command (``teams list --json``)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection and output")
    group.add_argument(
        "--url",
        default=os.environ.get("SAASLLM_URL") or DEFAULT_URL,
        help=f"gateway root URL (env SAASLLM_URL, default {DEFAULT_URL})",
    )
    group.add_argument(
        "--admin-key",
        default=os.environ.get("SAASLLM_ADMIN_KEY"),
        help="admin key (env SAASLLM_ADMIN_KEY; required)",
    )
    group.add_argument(
        "--timeout", type=positive_float, default=30.0, help="seconds per request (default 30)"
    )
    group.add_argument(
        "--json", action="store_true", help="print the API's JSON instead of a table"
    )
    return parent


def add_command(
    sub: SubParsers,
    name: str,
    handler: Handler,
    *,
    help: str,
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help, description=help, parents=parents)
    parser.set_defaults(func=partial(run, handler))
    return parser


def add_group(sub: SubParsers, name: str, *, help: str) -> SubParsers:
    """A command with subcommands (``teams list``); the subcommand is required."""
    parser = sub.add_parser(name, help=help, description=help)
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def optional_int(text: str) -> int | None:
    """An int, or ``none`` to clear a limit on ``teams update``."""
    if text.strip().lower() in ("none", "null", "off"):
        return None
    return non_negative_int(text)


def instant(text: str) -> datetime:
    """ISO 8601 date or time; without a zone it is UTC (the gateway's zone for days)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date or time (e.g. 2027-01-01T00:00:00Z)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
