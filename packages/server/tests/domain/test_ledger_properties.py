"""Any interleaving of the money operations keeps the books exact (hypothesis, stateful).

Operations: create a job; a call that holds its worst case and then answers fully, is
cut, fails or is abandoned by its client (each recorded with what it delivered), or is
lost in a crash (held, never recorded); completing a job with any status; a top-up; a
refund of a charged job; and a sweep after the idle timeout. After every step:

* the ledger sums to the balance (the team's grant included);
* holds are never negative, and are exactly what the open jobs hold;
* under token pricing every closed job was charged for every token it served;
* the debt is what the balance lies below its floor, and a team in debt starts nothing.

After a sweep no job is open and nothing is held.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from saasllm_schema import JobComplete, JobCreate, KeyCreate
from saasllm_schema.jobs import OPEN_STATUSES, CallStatus
from saasllm_server.domain import billing
from saasllm_server.domain.sweeper import JobSweeper
from saasllm_server.domain.tenancy import Principal
from saasllm_server.errors import GatewayError, InsufficientCredits
from saasllm_server.storage.database import utcnow
from saasllm_server.storage.jobs import CallRecord
from saasllm_server.storage.tables import credit_ledger, jobs, llm_calls

from .conftest import ACTOR, Domain

T = TypeVar("T")
PROMPT = 40


def _machine(domain: Domain, loop: asyncio.AbstractEventLoop) -> type[RuleBasedStateMachine]:
    def run(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)

    async def scalar(query: Any) -> int:
        async with domain.gw.engine.connect() as conn:
            return int(await conn.scalar(query) or 0)

    class Ledger(RuleBasedStateMachine):
        open_jobs = Bundle("open_jobs")
        closed_jobs = Bundle("closed_jobs")

        @initialize(
            mode=st.sampled_from(["per_job", "per_token", "per_usd"]),
            credits=st.integers(0, 60),
            overdraft=st.sampled_from([0, 5]),
        )
        def team(self, mode: str, credits: int, overdraft: int) -> None:
            self.team_id = run(
                domain.team(
                    credits=credits,
                    budget_mode=mode,
                    credits_per_job=2,
                    tokens_per_credit=10,
                    credits_per_dollar=1000,
                    overdraft_limit=overdraft,
                    default_model_group="default",
                )
            )
            key = run(domain.gw.keys.create(ACTOR, self.team_id, KeyCreate(name="p")))
            self.principal: Principal = run(domain.gw.auth.authenticate(f"Bearer {key.key}"))

        @rule(target=open_jobs)
        def create(self) -> str:
            try:
                return run(domain.gw.jobs.create(self.principal, JobCreate(job_type="p"))).job_id
            except InsufficientCredits:
                return "refused"

        @rule(
            job=open_jobs,
            outcome=st.sampled_from(["answered", "cut", "failed", "disconnected", "crashed"]),
            max_tokens=st.integers(1, 120),
            share=st.floats(0, 1),
        )
        def call(self, job: str, outcome: str, max_tokens: int, share: float) -> None:
            if job == "refused":
                return
            cost = (PROMPT + max_tokens) * 0.00001
            hold = billing.call_hold(self.principal, PROMPT, max_tokens, cost)
            try:
                run(domain.gw.jobs.admit_call(self.principal, job))
                run(domain.gw.jobs.hold_for_call(self.principal, job, hold))
            except GatewayError:
                return
            if outcome == "crashed":
                return  # the process died mid-stream: held, never recorded
            delivered = {
                "answered": max_tokens,
                "cut": int(max_tokens * share),
                "disconnected": int(max_tokens * share),
                "failed": 0,
            }[outcome]
            status = {
                "answered": CallStatus.SUCCESS,
                "cut": CallStatus.FAILED,
                "disconnected": CallStatus.CANCELLED,
                "failed": CallStatus.FAILED,
            }[outcome]
            prompt = 0 if outcome == "failed" else PROMPT
            domain.gw.jobs.call_started(job)
            run(
                domain.gw.jobs.record_call(
                    CallRecord(
                        id=str(uuid.uuid4()),
                        job_id=job,
                        team_id=self.team_id,
                        model_group="default",
                        deployment_id="fake",
                        model="fake",
                        status=status,
                        stream=True,
                        prompt_tokens=prompt,
                        completion_tokens=delivered,
                        cost_usd=(prompt + delivered) * 0.00001,
                        latency_ms=1.0,
                        ttft_ms=None,
                        error=None,
                        end_user=None,
                        created_at=utcnow(),
                    )
                )
            )

        @rule(
            target=closed_jobs,
            job=consumes(open_jobs),
            status=st.sampled_from(["completed", "failed", "cancelled"]),
        )
        def complete(self, job: str, status: str) -> str:
            if job == "refused":
                return job
            with contextlib.suppress(GatewayError):  # closed meanwhile by a sweep
                run(domain.gw.jobs.complete(self.principal, job, JobComplete(status=status)))
            return job

        @rule(amount=st.integers(1, 30))
        def top_up(self, amount: int) -> None:
            run(
                domain.gw.credits.move(
                    ACTOR, self.team_id, kind="topup", amount=amount, reason="p", key=None
                )
            )

        @rule(job=closed_jobs)
        def refund(self, job: str) -> None:
            if job == "refused":
                return
            charged = run(scalar(select(jobs.c.credits_charged).where(jobs.c.id == job)))
            if charged:
                with contextlib.suppress(GatewayError):  # refunded already
                    run(
                        domain.gw.credits.move(
                            ACTOR,
                            self.team_id,
                            kind="job_refund",
                            amount=charged,
                            reason="p",
                            key=None,
                            job_id=job,
                        )
                    )

        @rule()
        def sweep(self) -> None:
            run(JobSweeper(domain.gw.engine, domain.gw.jobs, 1e-6).sweep())
            assert self._open_jobs() == 0
            assert self._team().credits_reserved == 0

        def _team(self) -> Any:
            return run(domain.gw.tenancy.team(self.team_id))

        def _open_jobs(self) -> int:
            return run(
                scalar(
                    select(func.count()).where(
                        jobs.c.team_id == self.team_id, jobs.c.status.in_(list(OPEN_STATUSES))
                    )
                )
            )

        @invariant()
        def books_balance(self) -> None:
            if not hasattr(self, "team_id"):
                return
            team = self._team()
            total = run(
                scalar(
                    select(func.coalesce(func.sum(credit_ledger.c.amount), 0)).where(
                        credit_ledger.c.team_id == self.team_id
                    )
                )
            )
            assert total == team.credits_remaining
            held = run(
                scalar(
                    select(func.coalesce(func.sum(jobs.c.credits_reserved), 0)).where(
                        jobs.c.team_id == self.team_id, jobs.c.status.in_(list(OPEN_STATUSES))
                    )
                )
            )
            assert team.credits_reserved == held >= 0
            assert team.debt == max(0, -(team.credits_remaining + team.overdraft_limit))

        @invariant()
        def every_served_token_is_paid(self) -> None:
            if not hasattr(self, "team_id") or self.principal.budget_mode == "per_job":
                return
            for job_id, charged in run(self._closed()):
                usage = run(self._usage(job_id))
                if usage.prompt_tokens + usage.completion_tokens:
                    assert charged == billing.job_price(self.principal, usage), job_id

        @invariant()
        def debt_blocks_new_work(self) -> None:
            if not hasattr(self, "team_id"):
                return
            if self._team().credits_available < 1:
                try:
                    run(domain.gw.jobs.create(self.principal, JobCreate(job_type="p")))
                except InsufficientCredits:
                    return
                raise AssertionError("a job started without an available credit")

        async def _closed(self) -> list[tuple[str, int]]:
            async with domain.gw.engine.connect() as conn:
                rows = await conn.execute(
                    select(jobs.c.id, jobs.c.credits_charged).where(
                        jobs.c.team_id == self.team_id, jobs.c.status.not_in(list(OPEN_STATUSES))
                    )
                )
                return [(r.id, int(r.credits_charged)) for r in rows]

        async def _usage(self, job_id: str) -> billing.Usage:
            async with domain.gw.engine.connect() as conn:
                row = (
                    await conn.execute(
                        select(
                            func.coalesce(func.sum(llm_calls.c.prompt_tokens), 0),
                            func.coalesce(func.sum(llm_calls.c.completion_tokens), 0),
                            func.coalesce(func.sum(llm_calls.c.cost_usd), 0.0),
                        ).where(llm_calls.c.job_id == job_id)
                    )
                ).one()
            return billing.Usage(int(row[0]), int(row[1]), float(row[2]))

    return Ledger


async def test_any_interleaving_keeps_the_books(domain: Domain) -> None:
    machine = _machine(domain, asyncio.get_running_loop())
    config = settings(
        max_examples=30,
        derandomize=True,
        stateful_step_count=14,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    await asyncio.to_thread(run_state_machine_as_test, machine, settings=config)
