"""``keys`` (a team's virtual keys) and ``admin-keys`` (scoped keys for the admin API).

A new secret is printed exactly once, by the command that made it; listings show
only the display prefix, as the gateway stores nothing else.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, get_args

from saasllm_schema import AdminScope
from saasllm_schema.admin import AdminKeyCreated, AdminKeyInfo, KeyCreated, KeyInfo
from saasllm_server.operator_cli.options import (
    SubParsers,
    add_command,
    add_group,
    instant,
    non_negative_int,
)
from saasllm_server.operator_cli.output import Output
from saasllm_server.operator_cli.tables import Cell, joined, record, table

if TYPE_CHECKING:
    from saasllm import SyncSaaSLLMAdmin


def key_record(key: KeyInfo) -> str:
    fields: list[tuple[str, Cell]] = [
        ("key id", key.key_id),
        ("team", key.team_id),
        ("name", key.name),
        ("prefix", key.prefix),
        ("status", key.status),
        ("groups", joined(key.model_groups, when_none="all of the team's")),
        ("created", key.created_at),
        ("expires", key.expires_at),
        ("revoked", key.revoked_at),
        ("replaced by", key.replaced_by),
    ]
    if isinstance(key, KeyCreated):
        fields.append(("secret", key.key))
    return record(fields)


def admin_key_record(key: AdminKeyInfo) -> str:
    fields: list[tuple[str, Cell]] = [
        ("key id", key.key_id),
        ("name", key.name),
        ("scope", key.scope),
        ("prefix", key.prefix),
        ("created", key.created_at),
        ("revoked", key.revoked_at),
    ]
    if isinstance(key, AdminKeyCreated):
        fields.append(("secret", key.key))
    return record(fields)


# --- team keys --------------------------------------------------------------------------


def keys_list(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    keys = admin.list_keys(args.team)
    headers = ["key id", "name", "prefix", "status", "groups", "created", "expires", "revoked"]
    rows = [
        (
            k.key_id,
            k.name,
            k.prefix,
            k.status,
            joined(k.model_groups, when_none="all"),
            k.created_at,
            k.expires_at,
            k.revoked_at,
        )
        for k in keys
    ]
    return Output(table(headers, rows, empty="(no keys)"), keys)


def keys_create(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    key = admin.create_key(
        args.team, name=args.name, expires_at=args.expires_at, model_groups=args.groups
    )
    return Output(key_record(key), key, secret=True)


def keys_revoke(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    key = admin.revoke_key(args.key_id)
    return Output(key_record(key), key)


def keys_rotate(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    key = admin.rotate_key(args.key_id, grace_seconds=args.grace_seconds, name=args.name)
    return Output(key_record(key), key, secret=True)


# --- admin keys -------------------------------------------------------------------------


def admin_keys_list(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    keys = admin.list_admin_keys()
    headers = ["key id", "name", "scope", "prefix", "created", "revoked"]
    rows = [(k.key_id, k.name, k.scope, k.prefix, k.created_at, k.revoked_at) for k in keys]
    return Output(table(headers, rows, empty="(no admin keys)"), keys)


def admin_keys_create(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    key = admin.create_admin_key(args.name, scope=args.scope)
    return Output(admin_key_record(key), key, secret=True)


def admin_keys_revoke(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    key = admin.revoke_admin_key(args.key_id)
    return Output(admin_key_record(key), key)


def register(sub: SubParsers, common: list[argparse.ArgumentParser]) -> None:
    keys = add_group(sub, "keys", help="a team's virtual keys")
    p = add_command(keys, "list", keys_list, help="list a team's keys", parents=common)
    p.add_argument("team")
    p = add_command(keys, "create", keys_create, help="issue a key to a team", parents=common)
    p.add_argument("team")
    p.add_argument("--name", default="")
    p.add_argument(
        "--expires-at",
        type=instant,
        default=None,
        metavar="ISO8601",
        help="stops working at this time (UTC unless a zone is given)",
    )
    p.add_argument(
        "--group",
        dest="groups",
        metavar="G",
        action="extend",
        nargs="+",
        default=None,
        help="limit the key to these of the team's groups (default: all of them)",
    )
    p = add_command(keys, "revoke", keys_revoke, help="stop a key now", parents=common)
    p.add_argument("key_id")
    p = add_command(
        keys, "rotate", keys_rotate, help="replace a key; the old one works a while", parents=common
    )
    p.add_argument("key_id")
    p.add_argument(
        "--grace-seconds",
        type=non_negative_int,
        default=3600,
        metavar="N",
        help="how long the old key keeps working (default 3600)",
    )
    p.add_argument("--name", default=None, help="the new key's name (default: the old one)")

    admin_keys = add_group(sub, "admin-keys", help="scoped keys for the admin API")
    add_command(admin_keys, "list", admin_keys_list, help="list admin keys", parents=common)
    p = add_command(
        admin_keys, "create", admin_keys_create, help="create an admin key", parents=common
    )
    p.add_argument("name")
    p.add_argument(
        "--scope",
        choices=get_args(AdminScope),
        default="read",
        help="read: GETs; billing: also credits; full: everything (default read)",
    )
    p = add_command(
        admin_keys, "revoke", admin_keys_revoke, help="revoke an admin key", parents=common
    )
    p.add_argument("key_id")
