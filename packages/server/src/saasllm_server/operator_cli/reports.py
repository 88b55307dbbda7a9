"""``usage``, ``jobs`` and ``audit``: what the teams did, and what the admins did."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, get_args

from saasllm_schema import JobStatus, UsageGrouping
from saasllm_schema.admin import UsageReport, UsageRow
from saasllm_server.operator_cli.options import SubParsers, add_command, instant, positive_int
from saasllm_server.operator_cli.output import Output
from saasllm_server.operator_cli.paging import collect
from saasllm_server.operator_cli.tables import Cell, compact, table

if TYPE_CHECKING:
    from saasllm import SyncSaaSLLMAdmin

USAGE_NUMBERS = [
    "jobs",
    "done",
    "calls",
    "failed",
    "prompt tokens",
    "completion tokens",
    "cost usd",
    "credits",
]


def _usd(value: float) -> Decimal:
    # Fixed six places so a column of costs lines up on the decimal point.
    return Decimal(f"{value:.6f}")


def _numbers(row: UsageRow) -> list[Cell]:
    return [
        row.jobs,
        row.completed_jobs,
        row.calls,
        row.failed_calls,
        row.prompt_tokens,
        row.completion_tokens,
        _usd(row.provider_cost_usd),
        row.credits_charged,
    ]


def usage_table(report: UsageReport) -> str:
    keys: list[str] = []
    if report.group_by in ("day", "day_and_job_type"):
        keys.append("day")
    if report.group_by in ("job_type", "day_and_job_type"):
        keys.append("job type")

    def labels(row: UsageRow) -> list[Cell]:
        by = {"day": row.day, "job type": row.job_type}
        return [by[k] for k in keys]

    rows: Sequence[Sequence[Cell]] = [labels(r) + _numbers(r) for r in report.rows]
    total: list[Cell] = ["total", *[""] * (len(keys) - 1), *_numbers(report.totals)]
    return table(keys + USAGE_NUMBERS, rows, footer=total, empty="(no usage)")


def usage(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    report = admin.usage(
        organization_id=args.org,
        team_id=args.team,
        start=args.since,
        end=args.until,
        group_by=args.by,
    )
    return Output(usage_table(report), report)


def jobs(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    items = collect(
        lambda size, cursor: admin.list_jobs(
            organization_id=args.org,
            team_id=args.team,
            status=args.status,
            job_type=args.type,
            limit=size,
            cursor=cursor,
        ),
        args.limit,
    )
    headers = ["job id", "team", "type", "status", "user", "created", "completed"]
    headers += ["charged", "reserved"]
    rows = [
        (
            j.job_id,
            j.team_id,
            j.job_type,
            j.status,
            j.user_id,
            j.created_at,
            j.completed_at,
            j.credits_charged,
            j.credits_reserved,
        )
        for j in items
    ]
    return Output(table(headers, rows, empty="(no jobs)"), items)


def audit(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    entries = collect(
        lambda size, cursor: admin.audit(
            by=args.by, action=args.action, target=args.target, limit=size, cursor=cursor
        ),
        args.limit,
    )
    rows = [(e.id, e.at, e.actor, e.action, e.target, compact(e.details)) for e in entries]
    headers = ["id", "at", "actor", "action", "target", "details"]
    return Output(table(headers, rows, empty="(no entries)"), entries)


def register(sub: SubParsers, common: list[argparse.ArgumentParser]) -> None:
    p = add_command(
        sub, "usage", usage, help="jobs, calls, tokens, cost and credits", parents=common
    )
    p.add_argument("--org", default=None, metavar="ID")
    p.add_argument("--team", default=None, metavar="ID")
    since = "jobs created at or after this (ISO 8601; UTC unless a zone is given)"
    p.add_argument("--since", type=instant, default=None, metavar="ISO", help=since)
    p.add_argument(
        "--until", type=instant, default=None, metavar="ISO", help="jobs created before this"
    )
    p.add_argument("--by", choices=get_args(UsageGrouping), default="day", help="default day")

    p = add_command(sub, "jobs", jobs, help="jobs, newest first", parents=common)
    p.add_argument("--team", default=None, metavar="ID")
    p.add_argument("--org", default=None, metavar="ID")
    p.add_argument("--status", choices=[s.value for s in JobStatus], default=None)
    p.add_argument("--type", default=None, metavar="T", help="job type")
    p.add_argument("--limit", type=positive_int, default=50, metavar="N", help="default 50")

    p = add_command(sub, "audit", audit, help="admin changes, newest first", parents=common)
    p.add_argument("--by", default=None, metavar="ACTOR", help="e.g. admin:env")
    p.add_argument("--action", default=None, help="e.g. team.update")
    p.add_argument("--target", default=None, help="e.g. team:acme-corp")
    p.add_argument("--limit", type=positive_int, default=50, metavar="N", help="default 50")
