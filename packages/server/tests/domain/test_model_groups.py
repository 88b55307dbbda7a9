"""Which model group a call runs on, and who may use it."""

from __future__ import annotations

import pytest

from saasllm_schema import ModelGroupSpec
from saasllm_server.domain.model_groups import ModelGroupCatalog
from saasllm_server.domain.tenancy import Principal
from saasllm_server.errors import InvalidRequest, ModelGroupNotFound, PermissionDenied


def _principal(default: str | None, allowed: set[str]) -> Principal:
    return Principal(
        key_id="k",
        team_id="t",
        organization_id="o",
        team_status="active",
        budget_mode="per_job",
        credits_per_job=1,
        default_model_group=default,
        allowed_groups=frozenset(allowed),
        rpm_limit=None,
        max_concurrent_streams=None,
    )


CATALOG = ModelGroupCatalog(
    [
        ModelGroupSpec(name="default", members=["a", "b"]),
        ModelGroupSpec(name="fast", members=["c"]),
        ModelGroupSpec(name="secret", members=["d"]),
    ]
)


def test_no_model_means_the_default_group_with_its_fallback_order() -> None:
    assert CATALOG.resolve(_principal("default", set()), None) == ("default", ("a", "b"))


def test_allowed_group_by_name() -> None:
    assert CATALOG.resolve(_principal("default", {"fast"}), "fast") == ("fast", ("c",))


def test_group_outside_the_access_list_is_refused() -> None:
    with pytest.raises(PermissionDenied):
        CATALOG.resolve(_principal("default", {"fast"}), "secret")


def test_unknown_group_is_not_found_even_for_a_team_without_access() -> None:
    with pytest.raises(ModelGroupNotFound):
        CATALOG.resolve(_principal("default", set()), "nope")


def test_no_model_and_no_default_is_a_client_error() -> None:
    with pytest.raises(InvalidRequest):
        CATALOG.resolve(_principal(None, {"fast"}), None)
