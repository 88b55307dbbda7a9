"""Each endpoint is declared once, with when it may be resent; the gateway agrees with it."""

from __future__ import annotations

import re

import httpx
import pytest

from saasllm import _endpoints
from saasllm._endpoints import Endpoint
from saasllm._policy import Resend
from tests.support.gateway import ADMIN_KEY, GatewayProcess

DECLARED = {name: value for name, value in vars(_endpoints).items() if isinstance(value, Endpoint)}


def _shape(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path)


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_method_and_declaration_agree(name: str) -> None:
    """GET, PUT and DELETE change nothing when repeated; a POST or PATCH must say why it may."""
    endpoint = DECLARED[name]
    idempotent_method = endpoint.method in ("GET", "PUT", "DELETE")
    assert idempotent_method == (endpoint.resend is Resend.IDEMPOTENT)


def test_the_gateway_serves_every_endpoint_and_keys_the_keyed_ones(
    sqlite_gateway: GatewayProcess,
) -> None:
    # The whole API's document (the public /openapi.json leaves the admin API out).
    spec = httpx.get(
        f"{sqlite_gateway.url}/admin/openapi.json",
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=10,
    ).json()
    operations = {_shape(path): ops for path, ops in spec["paths"].items()}
    for name, endpoint in DECLARED.items():
        operation = operations.get(_shape(endpoint.path), {}).get(endpoint.method.lower())
        assert operation is not None, name
        parameters = operation.get("parameters", [])
        headers = {p["name"].lower() for p in parameters if p["in"] == "header"}
        assert ("idempotency-key" in headers) == (endpoint.resend is Resend.KEYED), name


def test_path_segments_are_quoted_whole() -> None:
    endpoint = _endpoints.CANCEL_STREAM.at(job_id="a/b?c", stream_id="s 1")
    assert endpoint.path == "/api/jobs/a%2Fb%3Fc/streams/s%201"
    assert endpoint.resend is _endpoints.CANCEL_STREAM.resend
