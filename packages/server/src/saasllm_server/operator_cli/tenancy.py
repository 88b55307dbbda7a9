"""``orgs`` and ``teams``: who the gateway serves, and on what terms."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, get_args

from saasllm_schema import BudgetMode
from saasllm_schema.admin import Organization, Team
from saasllm_server.operator_cli.failures import CommandError
from saasllm_server.operator_cli.options import (
    SubParsers,
    add_command,
    add_group,
    non_negative_int,
    optional_int,
    positive_float,
    positive_int,
)
from saasllm_server.operator_cli.output import Output
from saasllm_server.operator_cli.tables import Cell, joined, record, table

if TYPE_CHECKING:
    from saasllm import SyncSaaSLLMAdmin

# The settings `teams create` and `teams update` share, by their TeamUpdate names.
TEAM_SETTINGS = (
    "name",
    "default_model_group",
    "model_groups",
    "budget_mode",
    "credits_per_job",
    "tokens_per_credit",
    "credits_per_dollar",
    "markup_percent",
    "overdraft_limit",
    "low_balance_threshold",
    "rpm_limit",
    "max_concurrent_streams",
)


# --- views ------------------------------------------------------------------------------


def organization_record(org: Organization) -> str:
    return record([("id", org.id), ("name", org.name), ("created", org.created_at)])


def team_record(team: Team) -> str:
    return record(
        [
            ("id", team.id),
            ("organization", team.organization_id),
            ("name", team.name),
            ("status", team.status),
            ("balance", team.credits_remaining),
            ("reserved", team.credits_reserved),
            ("available", team.credits_available),
            ("overdraft limit", team.overdraft_limit),
            ("low balance", team.low_balance),
            ("low-balance threshold", team.low_balance_threshold),
            ("budget mode", team.budget_mode),
            ("credits per job", team.credits_per_job),
            ("tokens per credit", team.tokens_per_credit),
            ("credits per dollar", team.credits_per_dollar),
            ("markup percent", team.markup_percent),
            ("default group", team.default_model_group),
            ("groups", joined(team.model_groups)),
            ("rpm limit", team.rpm_limit),
            ("max streams", team.max_concurrent_streams),
            ("created", team.created_at),
            ("deleted", team.deleted_at),
        ]
    )


def _team_output(team: Team) -> Output:
    return Output(team_record(team), team)


# --- orgs -------------------------------------------------------------------------------


def orgs_list(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    orgs = admin.list_organizations()
    rows = [(o.id, o.name, o.created_at) for o in orgs]
    return Output(table(["id", "name", "created"], rows, empty="(no organizations)"), orgs)


def orgs_create(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    org = admin.create_organization(args.id, name=args.name)
    return Output(organization_record(org), org)


def orgs_show(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    org = admin.get_organization(args.id)
    return Output(organization_record(org), org)


# --- teams ------------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    # Options default to "absent" (argparse.SUPPRESS), so only what was typed is sent:
    # an update must never reset a setting the operator did not mention.
    return {name: getattr(args, name) for name in TEAM_SETTINGS if hasattr(args, name)}


def _team_row(team: Team, *, deleted: bool) -> list[Cell]:
    row: list[Cell] = [
        team.id,
        team.organization_id,
        team.name,
        team.status,
        team.credits_remaining,
        team.credits_reserved,
        team.credits_available,
        team.low_balance,
        team.budget_mode,
        team.default_model_group,
    ]
    return [*row, team.deleted_at] if deleted else row


def teams_list(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    teams = admin.list_teams(
        organization_id=args.org,
        low_balance=True if args.low_balance else None,
        include_deleted=args.include_deleted,
    )
    headers = ["id", "org", "name", "status", "balance", "reserved", "available", "low", "mode"]
    headers += ["default group"] + (["deleted"] if args.include_deleted else [])
    rows = [_team_row(t, deleted=args.include_deleted) for t in teams]
    return Output(table(headers, rows, empty="(no teams)"), teams)


def teams_show(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    return _team_output(admin.get_team(args.id))


def teams_create(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    settings = _settings(args)
    # None means "no limit" here, which is also create's default.
    settings = {k: v for k, v in settings.items() if v is not None}
    return _team_output(admin.create_team(args.id, args.org, credits=args.credits, **settings))


def teams_update(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    changes = _settings(args)
    if not changes:
        raise CommandError("nothing_to_change", "give at least one option to change")
    return _team_output(admin.update_team(args.id, **changes))


def teams_suspend(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    return _team_output(admin.suspend_team(args.id))


def teams_resume(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    return _team_output(admin.resume_team(args.id))


def teams_delete(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    admin.delete_team(args.id)
    return Output(
        f"deleted team {args.id} (its keys stop working; jobs and ledger stay)",
        {"team_id": args.id, "deleted": True},
    )


def _team_settings_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    absent = argparse.SUPPRESS
    add("--name", default=absent)
    add("--default-group", dest="default_model_group", metavar="G", default=absent)
    add(
        "--group",
        dest="model_groups",
        metavar="G",
        action="extend",
        nargs="+",
        default=absent,
        help="a model group the team may use (repeat or list several)",
    )
    add("--budget-mode", choices=get_args(BudgetMode), default=absent)
    add("--credits-per-job", type=non_negative_int, metavar="N", default=absent)
    add("--tokens-per-credit", type=positive_int, metavar="N", default=absent)
    add("--credits-per-dollar", type=positive_float, metavar="X", default=absent)
    add("--markup-percent", type=float, metavar="X", default=absent)
    add("--overdraft-limit", type=non_negative_int, metavar="N", default=absent)
    limit = "(none: no limit)"
    add(
        "--low-balance-threshold",
        type=optional_int,
        metavar="N",
        default=absent,
        help=f"the team shows as low at or below this {limit}",
    )
    add(
        "--rpm",
        dest="rpm_limit",
        type=optional_int,
        metavar="N",
        default=absent,
        help=f"requests per minute {limit}",
    )
    add(
        "--max-streams",
        dest="max_concurrent_streams",
        type=optional_int,
        metavar="N",
        default=absent,
        help=f"concurrent streams {limit}",
    )


def register(sub: SubParsers, common: list[argparse.ArgumentParser]) -> None:
    orgs = add_group(sub, "orgs", help="organizations")
    add_command(orgs, "list", orgs_list, help="list organizations", parents=common)
    p = add_command(orgs, "create", orgs_create, help="create an organization", parents=common)
    p.add_argument("id")
    p.add_argument("--name", default="")
    p = add_command(orgs, "show", orgs_show, help="show one organization", parents=common)
    p.add_argument("id")

    teams = add_group(sub, "teams", help="teams: balances, billing terms, limits")
    p = add_command(teams, "list", teams_list, help="list teams", parents=common)
    p.add_argument("--org", default=None, metavar="ID", help="only this organization's")
    p.add_argument("--low-balance", action="store_true", help="only teams at or below threshold")
    p.add_argument("--include-deleted", action="store_true")
    p = add_command(teams, "show", teams_show, help="show one team", parents=common)
    p.add_argument("id")
    p = add_command(teams, "create", teams_create, help="create a team", parents=common)
    p.add_argument("id")
    p.add_argument("--org", required=True, metavar="ORG", help="the team's organization")
    p.add_argument("--credits", type=non_negative_int, default=0, metavar="N")
    _team_settings_options(p)
    p = add_command(teams, "update", teams_update, help="change a team's settings", parents=common)
    p.add_argument("id")
    _team_settings_options(p)
    for name, handler, text in (
        ("suspend", teams_suspend, "refuse every call and new job of a team"),
        ("resume", teams_resume, "let a suspended team work again"),
        ("delete", teams_delete, "soft-delete a team (keys stop; history stays)"),
    ):
        p = add_command(teams, name, handler, help=text, parents=common)
        p.add_argument("id")
