"""Operator subcommands of ``saasllm-server``: a running gateway's admin API from a shell.

They talk HTTP through the SDK's :class:`saasllm.SyncSaaSLLMAdmin` and never import
the server itself, so they work against any gateway and start quickly.
"""

from saasllm_server.operator_cli.commands import add_operator_commands

__all__ = ["add_operator_commands"]
