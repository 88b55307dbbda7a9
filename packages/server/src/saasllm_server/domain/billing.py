"""What a job costs in credits, and what a team must hold to start work.

Only the per-job mode is charged so far; the per-token and per-dollar modes of
the billing issue add their rules here.
"""

from __future__ import annotations

from saasllm_server.domain.tenancy import Principal

ADMISSION_MINIMUM = 1


def job_charge(principal: Principal) -> int:
    return max(0, principal.credits_per_job)


def can_start_work(balance: int) -> bool:
    return balance >= ADMISSION_MINIMUM
