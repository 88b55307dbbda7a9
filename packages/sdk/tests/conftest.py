"""Fixtures for SDK tests: real clients against real gateway processes.

Most tests use the session's SQLite gateway (``sqlite_gateway`` from the root
conftest; the database is not the SDK's subject). Faults the shared gateway
cannot play, or that would harm it, use a dedicated gateway (``faults``): the
``badjson`` and long Retry-After groups, short upstream timeouts, and the
process a test kills mid-stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from packages.sdk.tests.sdk_testkit import (
    Client,
    ClientFactory,
    FakeStats,
    OpenJob,
    Recorder,
    RestartableGateway,
    all_groups,
    faults_config,
)
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin, TeamHandle


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def admin(sqlite_gateway: GatewayProcess) -> Admin:
    """Overrides the root ``admin`` (which runs on both databases): SQLite only here."""
    return Admin(sqlite_gateway.url)


@pytest.fixture
def team(admin: Admin) -> TeamHandle:
    """A fresh team on the SQLite gateway (overrides the root ``team``)."""
    return admin.team(credits=100)


@pytest.fixture(scope="session")
def fake(fake_upstream: Any) -> FakeStats:
    return FakeStats(fake_upstream.url)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def make_client(kind: str, recorder: Recorder) -> AsyncIterator[ClientFactory]:
    factory = ClientFactory(kind, recorder)
    yield factory
    await factory.aclose()


@pytest.fixture
def client(make_client: ClientFactory, sqlite_gateway: GatewayProcess, team: TeamHandle) -> Client:
    """A client of the parametrized kind on the SQLite gateway, for a fresh team."""
    return make_client(sqlite_gateway.url, team)


@pytest.fixture
def open_job(
    make_client: ClientFactory, sqlite_gateway: GatewayProcess, team: TeamHandle
) -> OpenJob:
    """``await open_job(**client_options)``: a client on the SQLite gateway with a job open."""
    return lambda **options: make_client.with_job(sqlite_gateway.url, team, **options)


@pytest.fixture(scope="session")
def faults_gateway_holder(workdir: Path, fake_upstream: Any) -> Iterator[RestartableGateway]:
    holder = RestartableGateway(
        faults_config(fake_upstream.base_url),
        f"sqlite+aiosqlite:///{workdir / 'sdk-faults.db'}",
        workdir,
    )
    yield holder
    holder.stop()


@pytest.fixture
def faults(faults_gateway_holder: RestartableGateway) -> GatewayProcess:
    """The dedicated gateway (started on first use, restarted if a test killed it)."""
    return faults_gateway_holder.get()


@pytest.fixture
def faults_team(faults: GatewayProcess) -> Iterator[TeamHandle]:
    tenants = Admin(faults.url)
    yield tenants.team(credits=100, model_groups=all_groups())
    tenants.http.close()


@pytest.fixture
def open_faults_job(
    make_client: ClientFactory, faults: GatewayProcess, faults_team: TeamHandle
) -> OpenJob:
    """``await open_faults_job(**client_options)``: the same on the dedicated gateway."""
    return lambda **options: make_client.with_job(faults.url, faults_team, **options)
