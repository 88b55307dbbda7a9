"""``groups``: the named fallback chains teams are allowed to call."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from saasllm_schema.admin import ModelGroupMember, ModelGroupSpec
from saasllm_server.operator_cli.options import SubParsers, add_command, add_group
from saasllm_server.operator_cli.output import Output
from saasllm_server.operator_cli.tables import record, table

if TYPE_CHECKING:
    from saasllm import SyncSaaSLLMAdmin


def _member(member: str | ModelGroupMember) -> str:
    if isinstance(member, str):
        return member
    # Defined in place: its name and the model it calls; keys and bases stay out.
    return f"{member.deployment} ({member.litellm_params.get('model')})"


def _members(group: ModelGroupSpec) -> str:
    # The order is the fallback order, so the arrow says more than a comma would.
    return " > ".join(_member(m) for m in group.members)


def _group_output(group: ModelGroupSpec) -> Output:
    return Output(record([("name", group.name), ("members", _members(group))]), group)


def groups_list(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    groups = admin.list_model_groups()
    rows = [(g.name, len(g.members), _members(g)) for g in groups]
    return Output(
        table(["name", "size", "members (fallback order)"], rows, empty="(no groups)"), groups
    )


def groups_show(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    return _group_output(admin.get_model_group(args.name))


def groups_set(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    return _group_output(admin.put_model_group(args.name, list(args.members)))


def groups_delete(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    admin.delete_model_group(args.name)
    return Output(f"deleted group {args.name}", {"name": args.name, "deleted": True})


def register(sub: SubParsers, common: list[argparse.ArgumentParser]) -> None:
    groups = add_group(sub, "groups", help="model groups (ordered fallback chains)")
    add_command(groups, "list", groups_list, help="list model groups", parents=common)
    p = add_command(groups, "show", groups_show, help="show one group", parents=common)
    p.add_argument("name")
    p = add_command(
        groups, "set", groups_set, help="create or replace a group's members", parents=common
    )
    p.add_argument("name")
    p.add_argument("members", nargs="+", metavar="MEMBER", help="deployments, in fallback order")
    p = add_command(groups, "delete", groups_delete, help="delete a group", parents=common)
    p.add_argument("name")
