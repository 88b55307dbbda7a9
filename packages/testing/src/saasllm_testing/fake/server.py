"""The fake as an aiohttp application, and running it in the current event loop."""

from __future__ import annotations

from aiohttp import web

from saasllm_testing.fake.routes import DEFAULTS_KEY, add_routes
from saasllm_testing.fake.scenario import ServerDefaults
from saasllm_testing.fake.stats import STATS_KEY, FakeStats
from saasllm_testing.stop_on_exit import StopsOnAsyncExit
from saasllm_testing.upstream_address import UpstreamAddress

_MAX_BODY = 64 * 1024 * 1024


def build_app(*, delay_ms: float = 0, ttft_ms: float = 0) -> web.Application:
    """The fake as an aiohttp application; ``delay_ms``/``ttft_ms`` are the server defaults.

    Run it with :func:`make_runner` (or pass ``handler_cancellation=True`` to your
    own runner): without it a client disconnect does not cancel the handler, so
    stalled streams are never counted as disconnected.
    """
    app = web.Application(client_max_size=_MAX_BODY)
    app[STATS_KEY] = FakeStats()
    app[DEFAULTS_KEY] = ServerDefaults(delay_ms=delay_ms, ttft_ms=ttft_ms)
    add_routes(app)
    return app


def make_runner(app: web.Application) -> web.AppRunner:
    """A runner that cancels handlers on disconnect, skips access logs and shuts down fast."""
    return web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5)


class FakeUpstream(UpstreamAddress, StopsOnAsyncExit):
    """A fake upstream running in the current event loop; ``async with`` closes it."""

    def __init__(self, runner: web.AppRunner, url: str) -> None:
        self._runner = runner
        self._url = url

    @property
    def stats(self) -> FakeStats:
        """Live counters, without an HTTP round trip."""
        app = self._runner.app
        assert app is not None
        return app[STATS_KEY]

    async def close(self) -> None:
        await self._runner.cleanup()

    async def _stop_on_exit(self) -> None:
        await self.close()


async def start_fake_upstream(
    host: str = "127.0.0.1", port: int = 0, *, delay_ms: float = 0, ttft_ms: float = 0
) -> FakeUpstream:
    """Listen on ``host:port`` (0 = a free port) in the running loop."""
    runner = make_runner(build_app(delay_ms=delay_ms, ttft_ms=ttft_ms))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    return FakeUpstream(runner, f"http://{_url_host(bound_host)}:{bound_port}")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
