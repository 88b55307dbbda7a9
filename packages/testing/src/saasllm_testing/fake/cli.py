"""``python -m saasllm_testing.fake``: serve the fake until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal

from saasllm_testing.fake.server import start_fake_upstream
from saasllm_testing.supervisor import READY_PREFIX


def _env_ms(name: str) -> float:
    try:
        return float(os.environ.get(name, "0") or 0)
    except ValueError:
        return 0.0


async def _serve(host: str, port: int, delay_ms: float, ttft_ms: float) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    upstream = await start_fake_upstream(host, port, delay_ms=delay_ms, ttft_ms=ttft_ms)
    try:
        print(f"{READY_PREFIX}{upstream.url}", flush=True)
        await stop.wait()
    finally:
        await upstream.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m saasllm_testing.fake",
        description="Deterministic OpenAI-compatible fake upstream (see saasllm_testing.fake).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--delay-ms",
        type=float,
        default=_env_ms("FAKE_DELAY_MS"),
        help="default FAKE_DELAY_MS or 0",
    )
    parser.add_argument(
        "--ttft-ms", type=float, default=_env_ms("FAKE_TTFT_MS"), help="default FAKE_TTFT_MS or 0"
    )
    args = parser.parse_args(argv)
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_serve(args.host, args.port, args.delay_ms, args.ttft_ms))
