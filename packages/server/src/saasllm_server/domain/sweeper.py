"""No hold outlives the work it was for.

Every open job has a lease (``active_at``): creating it, each of its calls, and a
heartbeat while a call of it runs on this process move it forward. A job whose
lease is older than the idle timeout has nobody working on it (its client
vanished, or its process died mid-stream) and is settled from its recorded
calls, holds released, by whichever replica sweeps first; the sweep also runs
at start-up, so a crash loop cannot lock a team's balance.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from saasllm_server.domain.jobs import JobService
from saasllm_server.storage import leases
from saasllm_server.storage.database import utcnow

log = logging.getLogger("saasllm.sweeper")

_BATCH = 200


class JobSweeper:
    def __init__(self, engine: AsyncEngine, jobs: JobService, idle_timeout_s: float) -> None:
        self._engine = engine
        self._jobs = jobs
        self._idle_s = idle_timeout_s
        # Several heartbeats fit in one idle period, so one late beat never expires a job.
        self.heartbeat_s = max(0.05, min(idle_timeout_s / 4, 10.0))
        self.sweep_s = max(0.1, min(idle_timeout_s / 2, 60.0))

    async def heartbeat(self) -> None:
        running = self._jobs.running_jobs()
        if running:
            async with self._engine.begin() as conn:
                await leases.renew(conn, running, utcnow())

    async def sweep(self) -> int:
        """Settles the idle jobs; returns how many."""
        settled = 0
        async with self._engine.connect() as lock:
            if not await leases.try_sweep_lock(lock):
                return 0
            try:
                while True:
                    before = utcnow() - timedelta(seconds=self._idle_s)
                    async with self._engine.connect() as conn:
                        idle = await leases.idle_jobs(conn, before, _BATCH)
                    done = 0
                    for job_id, team_id in idle:
                        if await self._jobs.settle_abandoned(job_id, team_id, self._idle_s):
                            done += 1
                    settled += done
                    if len(idle) < _BATCH or not done:
                        break
            finally:
                await leases.release_sweep_lock(lock)
        if settled:
            log.info("settled %d abandoned jobs (idle for %g s)", settled, self._idle_s)
        return settled

    async def run(self) -> None:
        """Heartbeats and sweeps until cancelled; a failed round is logged and retried."""
        next_sweep = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.heartbeat()
                if loop.time() >= next_sweep:
                    next_sweep = loop.time() + self.sweep_s
                    await self.sweep()
            except Exception:
                log.exception("job lease round failed")
            await asyncio.sleep(self.heartbeat_s)
