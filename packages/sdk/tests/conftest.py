"""Fixtures for SDK tests; the fakes live in ``sdk_testkit`` (importable from here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sdk_testkit import Gateway, make_client

from saasllm import SaaSLLMClient, SyncSaaSLLMClient


@pytest.fixture
def gateway() -> Gateway:
    return Gateway()


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client(kind: str, gateway: Gateway) -> SaaSLLMClient | SyncSaaSLLMClient:
    return make_client(kind, gateway)
