"""A gateway killed mid-stream (SIGKILL: no shutdown, no final record) leaves no hold behind,
and what it served is still paid for (issue 11), on SQLite and PostgreSQL.

Each test runs its own gateways with a short idle timeout and recording interval: the
stream records its progress every ``PROGRESS_S`` while it runs, so the crash loses at most
that much of its usage; the job, no longer worked on by anyone, is settled from what was
recorded once ``IDLE_S`` has passed, by the restarted process or by another replica.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from saasllm_testing.fake import FakeUpstreamProcess
from tests.support import db, services
from tests.support.gateway import GatewayProcess
from tests.support.gateway import test_config as gateway_config
from tests.support.tenants import Admin, TeamHandle

IDLE_S = 3.0
PROGRESS_S = 0.5
TOKEN_S = 0.2  # the "slow" group streams one token every 200 ms
SWEEP_S = IDLE_S / 2  # how often a gateway sweeps (half its idle timeout)
ENV = {
    "SAASLLM_JOB_IDLE_TIMEOUT_S": str(IDLE_S),
    "SAASLLM_CALL_PROGRESS_INTERVAL_S": str(PROGRESS_S),
}
CREDITS = 10_000
PROMPT = (
    "Write a long technical blog post about microservices, service meshes, tracing, "
    "retries, timeouts, circuit breakers, queues, idempotency keys and the people who "
    "get paged at night when any of them goes wrong in production"
)
KILL_AFTER = 12  # content events the client reads before the gateway is killed


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
        return
    url = services.create_database()
    yield url
    services.drop_database(url)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    url = services.create_database()
    yield url
    services.drop_database(url)


class Gateways:
    """Gateway processes on one database, all stopped at the end of the test."""

    def __init__(self, fake: FakeUpstreamProcess, url: str, workdir: Path) -> None:
        self.config = gateway_config(fake.base_url, None)
        self.url = url
        self.workdir = workdir
        self.started: list[GatewayProcess] = []

    async def start(self) -> GatewayProcess:
        gateway = await asyncio.to_thread(
            GatewayProcess.start,
            config=self.config,
            database_url=self.url,
            workdir=self.workdir,
            env=ENV,
        )
        self.started.append(gateway)
        return gateway

    def stop(self) -> None:
        for gateway in self.started:
            if gateway.process.poll() is None:
                gateway.stop()


@pytest.fixture
def gateways(
    fake_upstream: FakeUpstreamProcess, tmp_path: Path
) -> Iterator[Callable[[str], Gateways]]:
    """Makes the gateways of a test on a database; stops them all when the test ends."""
    made: list[Gateways] = []

    def on(url: str) -> Gateways:
        made.append(Gateways(fake_upstream, url, tmp_path))
        return made[-1]

    yield on
    for group in made:
        group.stop()


def _is_content(line: str) -> bool:
    return line.startswith("data:") and '"content":"' in line and '"content":""' not in line


async def _stream_then_kill(gateway: GatewayProcess, team: TeamHandle, job_id: str) -> int:
    """Stream a slow answer; SIGKILL the gateway once ``KILL_AFTER`` content events arrived.
    Returns the content events the client got."""
    received = 0
    body = {"model": "slow", "messages": [{"role": "user", "content": PROMPT}]}
    async with httpx.AsyncClient(base_url=gateway.url, headers=team.headers, timeout=30) as c:
        try:
            async with c.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=body) as r:
                assert r.status_code == 200
                async for line in r.aiter_lines():
                    received += _is_content(line)
                    if received == KILL_AFTER:
                        gateway.process.kill()
                        await asyncio.to_thread(gateway.process.wait)
        except httpx.TransportError:
            pass  # the connection died with the process, as it should
    assert received == KILL_AFTER
    return received


async def _open_job(gateway: GatewayProcess) -> tuple[Admin, TeamHandle, str]:
    admin = Admin(gateway.url)
    team = await asyncio.to_thread(
        admin.team, credits=CREDITS, budget_mode="per_token", tokens_per_credit=1
    )
    async with httpx.AsyncClient(base_url=gateway.url, headers=team.headers) as client:
        created = await client.post("/api/jobs/create", json={"job_type": "crash"})
    assert created.status_code == 200, created.text
    return admin, team, str(created.json()["job_id"])


async def _settled(admin: Admin, team: TeamHandle, within_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while True:
        response = await asyncio.to_thread(
            admin.http.get, "/admin/jobs", params={"team_id": team.team_id}
        )
        [job] = response.json()["data"]
        if job["status"] not in ("pending", "in_progress"):
            return dict(job)
        assert time.monotonic() < deadline, f"job still {job['status']} after {within_s} s"
        await asyncio.sleep(0.1)


async def _assert_paid_as_recorded(
    url: str, admin: Admin, team: TeamHandle, job: dict[str, Any], received: int
) -> None:
    assert job["status"] == "cancelled"
    [call] = await db.calls(url, team.team_id, 1)
    # The progress record the stream left, closed by the settlement.
    assert call["status"] == "cancelled"
    assert "stopped" in (call["error"] or "")
    lost_at_most = math.ceil(PROGRESS_S / TOKEN_S) + 1
    assert received - lost_at_most <= call["completion_tokens"] <= received + 1
    assert call["prompt_tokens"] > 0
    charged = call["prompt_tokens"] + call["completion_tokens"]
    assert job["credits_charged"] == charged
    view = await asyncio.to_thread(admin.get_team, team.team_id)
    assert (view["credits_remaining"], view["credits_reserved"]) == (CREDITS - charged, 0)
    [charge] = [e for e in await db.ledger(url, team.team_id) if e["kind"] == "job_charge"]
    assert (charge["amount"], charge["actor"]) == (-charged, "gateway:sweeper")


async def test_a_job_whose_gateway_was_killed_mid_stream_is_settled_after_restart(
    database_url: str, gateways: Callable[[str], Gateways]
) -> None:
    processes = gateways(database_url)
    first = await processes.start()
    admin, team, job_id = await _open_job(first)

    received = await _stream_then_kill(first, team, job_id)
    killed_at = time.monotonic()
    # Nobody is left to release the job's holds: they stay until someone settles the job.
    stored = await db.job(database_url, job_id)
    assert stored["status"] == "in_progress"
    assert stored["credits_reserved"] > 1

    restarted = await processes.start()
    ready_at = time.monotonic()
    admin = Admin(restarted.url)
    job = await _settled(admin, team, within_s=IDLE_S + 2 * SWEEP_S + 5)
    # Idle from the kill on (at the latest): settled by the sweep at start-up, or by the
    # first sweep after the idle timeout.
    assert time.monotonic() <= max(killed_at + IDLE_S, ready_at) + SWEEP_S + 1.5
    await _assert_paid_as_recorded(database_url, admin, team, job, received)


async def test_another_replica_settles_the_jobs_of_one_that_was_killed(
    postgres_url: str, gateways: Callable[[str], Gateways]
) -> None:
    """Two replicas on one PostgreSQL database: the survivor settles the dead one's job
    once its lease has run out, and not before."""
    processes = gateways(postgres_url)
    doomed, survivor = await asyncio.gather(processes.start(), processes.start())
    _, team, job_id = await _open_job(doomed)
    admin = Admin(survivor.url)

    received = await _stream_then_kill(doomed, team, job_id)
    killed_at = time.monotonic()
    await asyncio.sleep(1.0)
    # Its lease was renewed until the kill: the survivor leaves it alone for now.
    assert (await db.job(postgres_url, job_id))["status"] == "in_progress"

    job = await _settled(admin, team, within_s=IDLE_S + SWEEP_S + 5)
    # Settled within the idle timeout of the last sign of life (plus one sweep period).
    assert time.monotonic() - killed_at <= IDLE_S + SWEEP_S + 1.5
    await _assert_paid_as_recorded(postgres_url, admin, team, job, received)


async def test_a_long_stream_records_its_progress_and_its_end_in_one_row(
    database_url: str, gateways: Callable[[str], Gateways]
) -> None:
    """While a stream runs, its call's row shows what it has used so far (``running``);
    when it ends, the final record replaces that row: one row per call, never two."""
    gateway = await gateways(database_url).start()
    _, team, job_id = await _open_job(gateway)
    body = {"model": "slow", "messages": [{"role": "user", "content": PROMPT}]}
    seen: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=gateway.url, headers=team.headers, timeout=30) as c:
        async with c.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=body) as r:
            received = 0
            async for line in r.aiter_lines():
                if not _is_content(line):
                    continue
                received += 1
                if received in (5, 10):
                    await asyncio.sleep(PROGRESS_S + 0.1)  # the gateway keeps relaying
                    seen.append((await db.calls(database_url, team.team_id, 1))[0])
        done = await c.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
    assert done.status_code == 200, done.text
    assert [row["status"] for row in seen] == ["running", "running"]
    assert 0 < seen[0]["completion_tokens"] < seen[1]["completion_tokens"] < received
    assert all(row["prompt_tokens"] > 0 for row in seen)
    rows = await db.calls(database_url, team.team_id, 1)
    assert len(rows) == 1
    assert rows[0]["id"] == seen[0]["id"]
    assert (rows[0]["status"], rows[0]["completion_tokens"]) == ("success", received)
    assert done.json()["credits_charged"] == rows[0]["prompt_tokens"] + received
