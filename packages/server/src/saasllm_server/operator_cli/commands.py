"""Attach the operator commands to ``saasllm-server``'s parser.

Each module owns one area (tenancy, keys, credits, groups, reports) with its
handlers and its options; this is only the list of them.
"""

from __future__ import annotations

from saasllm_server.operator_cli import credits, groups, keys, reports, tenancy
from saasllm_server.operator_cli.options import SubParsers, connection_options

AREAS = (tenancy, keys, credits, groups, reports)


def add_operator_commands(sub: SubParsers) -> None:
    common = [connection_options()]
    for area in AREAS:
        area.register(sub, common)
