"""``credits``: a team's balance and every move of it, each one a ledger entry.

Moves take ``--idempotency-key`` so a script that retries after a timeout cannot pay
twice: the gateway replays the first entry instead of adding a second.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from saasllm_schema.admin import LedgerEntry
from saasllm_server.operator_cli.options import SubParsers, add_command, add_group, positive_int
from saasllm_server.operator_cli.output import Output
from saasllm_server.operator_cli.paging import collect
from saasllm_server.operator_cli.tables import record, table

if TYPE_CHECKING:
    from saasllm import SyncSaaSLLMAdmin


def entry_record(entry: LedgerEntry) -> str:
    return record(
        [
            ("entry", entry.id),
            ("team", entry.team_id),
            ("kind", entry.kind),
            ("amount", entry.amount),
            ("balance before", entry.balance_before),
            ("balance after", entry.balance_after),
            ("reason", entry.reason),
            ("actor", entry.actor),
            ("job", entry.job_id),
            ("idempotency key", entry.idempotency_key),
            ("at", entry.created_at),
        ]
    )


def _moved(entry: LedgerEntry) -> Output:
    return Output(entry_record(entry), entry)


def balance(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    # The team, not the bare Balance: what is reserved and available matters as much.
    team = admin.get_team(args.team)
    text = record(
        [
            ("team", team.id),
            ("balance", team.credits_remaining),
            ("reserved", team.credits_reserved),
            ("available", team.credits_available),
            ("overdraft limit", team.overdraft_limit),
            ("low balance", team.low_balance),
        ]
    )
    return Output(text, team)


def topup(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    return _moved(
        admin.top_up(
            args.team, args.amount, reason=args.reason, idempotency_key=args.idempotency_key
        )
    )


def allocate(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    return _moved(
        admin.allocate_credits(
            args.team, args.amount, reason=args.reason, idempotency_key=args.idempotency_key
        )
    )


def adjust(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    return _moved(
        admin.adjust_credits(
            args.team, args.amount, reason=args.reason, idempotency_key=args.idempotency_key
        )
    )


def refund(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    return _moved(
        admin.refund(
            args.team,
            args.amount,
            reason=args.reason,
            job_id=args.job,
            idempotency_key=args.idempotency_key,
        )
    )


def ledger(admin: SyncSaaSLLMAdmin, args: argparse.Namespace) -> Output:
    entries = collect(
        lambda size, cursor: admin.ledger(args.team, limit=size, cursor=cursor), args.limit
    )
    headers = ["entry", "at", "kind", "amount", "before", "after", "actor", "job", "reason"]
    rows = [
        (
            e.id,
            e.created_at,
            e.kind,
            e.amount,
            e.balance_before,
            e.balance_after,
            e.actor,
            e.job_id,
            e.reason,
        )
        for e in entries
    ]
    return Output(table(headers, rows, empty="(no entries)"), entries)


def _amount(text: str) -> int:
    value = int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0")
    return value


def _move_options(parser: argparse.ArgumentParser, *, signed: bool, reason_required: bool) -> None:
    parser.add_argument("team")
    parser.add_argument(
        "amount",
        type=_amount if signed else positive_int,
        help="credits (negative takes away)" if signed else "credits (more than 0)",
    )
    parser.add_argument(
        "--reason", required=reason_required, default="", help="recorded in the ledger"
    )
    parser.add_argument(
        "--idempotency-key",
        default=None,
        metavar="K",
        help="repeat the command with the same K and the move happens once",
    )


def register(sub: SubParsers, common: list[argparse.ArgumentParser]) -> None:
    credits = add_group(sub, "credits", help="balances and the credit ledger")
    p = add_command(credits, "balance", balance, help="a team's balance", parents=common)
    p.add_argument("team")
    p = add_command(credits, "topup", topup, help="add purchased credits", parents=common)
    _move_options(p, signed=False, reason_required=False)
    p = add_command(
        credits, "allocate", allocate, help="grant credits under a plan", parents=common
    )
    _move_options(p, signed=False, reason_required=False)
    p = add_command(credits, "adjust", adjust, help="correct a balance either way", parents=common)
    _move_options(p, signed=True, reason_required=True)
    p = add_command(credits, "refund", refund, help="give credits back", parents=common)
    _move_options(p, signed=False, reason_required=False)
    p.add_argument(
        "--job", default=None, metavar="JOB_ID", help="the job refunded (at most its charge)"
    )
    p = add_command(credits, "ledger", ledger, help="a team's ledger, newest first", parents=common)
    p.add_argument("team")
    p.add_argument("--limit", type=positive_int, default=50, metavar="N", help="default 50")
