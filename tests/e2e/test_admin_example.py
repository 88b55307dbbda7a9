"""The operator example onboards a team end to end against the examples' gateway."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.test_examples import run_example
from tests.support import db
from tests.support.gateway import ADMIN_KEY, GatewayProcess


async def test_admin_01_onboard_team(
    tmp_path: Path, examples_gateway: GatewayProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAASLLM_ADMIN_KEY", ADMIN_KEY)
    out = await run_example("admin_01_onboard_team", tmp_path)

    team = re.search(r"^team (beta-[0-9a-f]{6}): 20 credits, per_token$", out, re.M)
    assert team is not None, out
    team_id = team.group(1)
    entry = re.search(r"^top-up entry (\d+), retried: entry (\d+), balance 50$", out, re.M)
    assert entry is not None, out
    assert entry.group(1) == entry.group(2), out
    job = re.search(r"^job used (\d+) tokens: (\d+) credits charged, (\d+) left$", out, re.M)
    assert job is not None, out
    tokens, charged, left = (int(g) for g in job.groups())
    assert charged == max(1, -(-tokens // 100))
    assert left == 50 - charged
    assert f"usage: 1 job, 1 call, {tokens} tokens, {charged} credits" in out
    assert out.rstrip().endswith("low balance: False")

    ledger = await db.ledger(examples_gateway.database_url, team_id)
    assert [(row["kind"], row["amount"]) for row in ledger] == [
        ("grant", 20),
        ("topup", 30),
        ("job_charge", -charged),
    ]
    assert ledger[1]["idempotency_key"] == f"{team_id}-1"
    assert "secret" not in {row["reason"] for row in ledger}
