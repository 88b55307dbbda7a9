"""The OpenAPI document describes the admin API with the shared wire models.

Bodies and answers are ``saasllm_schema`` models (so the SDK and the server
agree on them), every operation says what it does, and errors are the one
error body.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
from pydantic import BaseModel

import saasllm_schema
from saasllm_server.app import create_app

REF = "#/components/schemas/"


@cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = create_app().openapi()
    return document


def _generated_summary(method: str, path: str, operation: dict[str, Any]) -> str:
    """The summary FastAPI makes up from the function's name when none is given.

    Its operation id is that name, then the path and the method (``\\W`` as ``_``).
    """
    suffix = re.sub(r"\W", "_", path) + "_" + method.lower()
    operation_id: str = operation["operationId"]
    assert operation_id.endswith(suffix), operation_id
    return operation_id.removesuffix(suffix).replace("_", " ").title()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    found = [
        (method.upper(), path, operation)
        for path, item in _document()["paths"].items()
        if path.startswith("/admin")
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    return sorted(found, key=lambda x: (x[1], x[0]))


OPERATIONS = _operations()
IDS = [f"{method} {path}" for method, path, _ in OPERATIONS]


def _component(ref: str) -> tuple[str, dict[str, Any]]:
    assert ref.startswith(REF), ref
    name = ref.removeprefix(REF)
    schemas: dict[str, Any] = _document()["components"]["schemas"]
    assert name in schemas, f"{ref} is not in the document's components"
    schema: dict[str, Any] = schemas[name]
    return name, schema


def _schema_model(name: str) -> type[BaseModel]:
    """The exported ``saasllm_schema`` model a component is named after."""
    assert name in saasllm_schema.__all__, f"{name} is not exported by saasllm_schema"
    model = getattr(saasllm_schema, name)
    assert isinstance(model, type)
    assert issubclass(model, BaseModel), name
    return model


def _assert_is_model(ref: str) -> type[BaseModel]:
    """The component is a schema model, with that model's fields."""
    name, schema = _component(ref)
    model = _schema_model(name)
    fields = {field.alias or key for key, field in model.model_fields.items()}
    assert set(schema.get("properties", {})) == fields, name
    return model


def _assert_models_in(schema: dict[str, Any], where: str) -> None:
    """A JSON answer: a model, a list of models, or a ``Page`` of models."""
    if "$ref" in schema:
        name, component = _component(schema["$ref"])
        if name.startswith("Page_"):
            assert "Page" in saasllm_schema.__all__
            page_fields = set(saasllm_schema.Page.model_fields)
            assert set(component["properties"]) == page_fields, where
            items = component["properties"]["data"]
            assert items["type"] == "array", where
            _assert_is_model(items["items"]["$ref"])
            assert name == f"Page_{items['items']['$ref'].removeprefix(REF)}_", where
        else:
            _assert_is_model(schema["$ref"])
    else:
        assert schema.get("type") == "array", (where, schema)
        assert "$ref" in schema["items"], (where, schema)
        _assert_is_model(schema["items"]["$ref"])


def test_the_document_lists_the_admin_api() -> None:
    paths = {path for _, path, _ in OPERATIONS}
    for expected in (
        "/admin/organizations",
        "/admin/teams",
        "/admin/teams/{team_id}",
        "/admin/teams/{team_id}/keys",
        "/admin/keys/{key_id}/rotate",
        "/admin/admin-keys",
        "/admin/teams/{team_id}/credits/topup",
        "/admin/teams/{team_id}/ledger",
        "/admin/model-groups/{name}",
        "/admin/usage",
        "/admin/jobs",
        "/admin/audit",
    ):
        assert expected in paths
    assert len(OPERATIONS) >= 30


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_each_operation_says_what_it_does(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    """A written description (the endpoint's docstring) or a summary of its own.

    FastAPI makes a summary from the function's name when there is neither
    ("Get Team"), so that one does not count.
    """
    generated = _generated_summary(method, path, operation)
    summary = operation.get("summary", "")
    description = operation.get("description", "").strip()
    assert description or (summary and summary != generated), (
        f"{method} {path} has no docstring or summary"
    )
    assert operation.get("tags"), f"{method} {path} has no tag"


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_bodies_and_answers_are_schema_models(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    where = f"{method} {path}"
    body = operation.get("requestBody")
    if body is not None:
        content = body["content"]
        assert set(content) == {"application/json"}, where
        assert set(content["application/json"]["schema"]) == {"$ref"}, where
        _assert_is_model(content["application/json"]["schema"]["$ref"])
    else:
        assert method in {"GET", "DELETE"} or path.endswith(("/revoke", "/suspend", "/resume")), (
            f"{where} takes no body"
        )

    responses: dict[str, Any] = operation["responses"]
    successes = [code for code in responses if code.startswith("2")]
    assert len(successes) == 1, where
    [success] = successes
    answer = responses[success].get("content", {})
    if success == "204":
        assert answer == {}, where
        assert method == "DELETE", where
    else:
        assert set(answer) == {"application/json"}, where
        _assert_models_in(answer["application/json"]["schema"], where)


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_errors_are_the_error_body(method: str, path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    errors = {code: r for code, r in responses.items() if not code.startswith("2")}
    # Every admin call can be unauthenticated, refused, or invalid.
    assert {"401", "403", "422"} <= set(errors), f"{method} {path}: {sorted(errors)}"
    if "{" in path:
        assert "404" in errors, f"{method} {path}: an unknown id is a documented 404"
    for code, response in errors.items():
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": REF + "ErrorBody"}, (method, path, code)
    _assert_is_model(REF + "ErrorBody")
    # FastAPI's own validation-error shape never leaks into the document.
    assert "HTTPValidationError" not in str(operation)


def test_error_body_component_is_the_schema_model() -> None:
    _, schema = _component(REF + "ErrorBody")
    detail_name, detail = _component(schema["properties"]["error"]["$ref"])
    assert detail_name == "ErrorDetail"
    assert set(detail["required"]) == {"type", "code", "message"}
