"""The schema's ``ERRORS`` table is the only place a code meets its status and type.

Pure and fast: it reads the server's source and its error classes, starts nothing.
Every error class and every raise site must use a code of the table, the status
and type sent must be the table's, every code of the table must be used
somewhere (no dead entries), and every body the server builds must read back as
the schema's ``ErrorBody``.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import saasllm_server
from saasllm_schema import ERRORS, ErrorBody, ErrorCode
from saasllm_server.api.errors import (
    HTTP_ERROR_CODES,
    HTTP_OTHER_CODE,
    error_json,
    error_response,
    gateway_error_response,
)
from saasllm_server.errors import GatewayError

SOURCE = Path(saasllm_server.__file__).parent
CODE_REFERENCE = re.compile(r"\bErrorCode\.([A-Za-z_]+)\b")


def _sources() -> Iterator[tuple[str, str]]:
    """(module name, source text) of every module of the server."""
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path.read_text()


SOURCES = dict(_sources())
TREES = {module: ast.parse(text) for module, text in SOURCES.items()}


def _base_names(node: ast.ClassDef) -> set[str]:
    return {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}


def _error_class_modules() -> set[str]:
    """Modules that define an error class: found in the source, so a class the tests would
    never import is still walked."""
    names, modules = {"GatewayError"}, set()
    changed = True
    while changed:
        changed = False
        for module, tree in TREES.items():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and _base_names(node) & names:
                    modules.add(module)
                    if node.name not in names:
                        names.add(node.name)
                        changed = True
    return modules


def _subclasses(cls: type[GatewayError]) -> Iterator[type[GatewayError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


for _module in _error_class_modules():
    importlib.import_module(_module)
ERROR_CLASSES: list[type[GatewayError]] = sorted(
    {GatewayError, *_subclasses(GatewayError)}, key=lambda c: c.__name__
)
BY_NAME = {cls.__name__: cls for cls in ERROR_CLASSES}


def _raise_sites() -> Iterator[tuple[str, type[GatewayError], ErrorCode]]:
    """(where, class, code) of each ``SomeError(..., code=ErrorCode.X)`` in the server."""
    for module, tree in TREES.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            cls = BY_NAME.get(node.func.id)
            for keyword in node.keywords:
                value = keyword.value
                if (
                    cls is not None
                    and keyword.arg == "code"
                    and isinstance(value, ast.Attribute)
                    and isinstance(value.value, ast.Name)
                    and value.value.id == "ErrorCode"
                ):
                    yield f"{module}:{node.lineno}", cls, ErrorCode[value.attr]


RAISE_SITES = list(_raise_sites())


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_each_error_class_takes_status_and_type_from_the_table(cls: type[GatewayError]) -> None:
    assert cls.code in ERRORS
    assert "status" not in vars(cls) or cls is GatewayError
    assert "type" not in vars(cls) or cls is GatewayError
    error = cls("message")
    assert (error.status, error.type) == ERRORS[cls.code]


def test_error_classes_are_found() -> None:
    assert {"JobNotFound", "UpstreamTimeout", "StreamAbandoned"} <= set(BY_NAME)
    assert len(RAISE_SITES) >= 5, RAISE_SITES


def test_every_code_the_source_names_is_in_the_table() -> None:
    named = {
        (module, name) for module, text in SOURCES.items() for name in CODE_REFERENCE.findall(text)
    }
    unknown = sorted((module, name) for module, name in named if name not in ErrorCode.__members__)
    assert not unknown
    assert {ErrorCode[name] for _, name in named} <= ERRORS.keys()


def test_a_code_given_at_the_raise_site_keeps_the_class_status() -> None:
    """``except NotFound`` still means 404 whatever code a raise site picked."""
    for where, cls, code in RAISE_SITES:
        error = cls("message", code=code)
        assert (error.status, error.type) == ERRORS[code], where
        assert ERRORS[code].status == ERRORS[cls.code].status, where


def test_the_table_has_no_dead_entries() -> None:
    used = {cls.code for cls in ERROR_CLASSES}
    used |= {code for _, _, code in RAISE_SITES}
    used |= {ErrorCode[n] for text in SOURCES.values() for n in CODE_REFERENCE.findall(text)}
    assert set(ERRORS) - used == set()


@pytest.mark.parametrize("code", list(ERRORS), ids=str)
def test_every_body_reads_back_as_the_schemas_error_body(code: ErrorCode) -> None:
    response = error_response(code, "what went wrong", param="model", retry_after=1.2)
    assert response.status_code == ERRORS[code].status
    assert response.headers["retry-after"] == "2"
    body = ErrorBody.model_validate_json(bytes(response.body))
    assert (body.error.type, body.error.code) == (ERRORS[code].type, code)
    assert (body.error.message, body.error.param) == ("what went wrong", "model")

    bare = ErrorBody.model_validate_json(bytes(error_response(code, "m").body))
    assert bare.error.param is None
    assert b"param" not in bytes(error_response(code, "m").body)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_a_raised_error_leaves_as_its_tables_body(cls: type[GatewayError]) -> None:
    error = cls("nope", retry_after=0.2)
    response = gateway_error_response(error)
    assert response.status_code == ERRORS[cls.code].status
    assert response.headers["retry-after"] == "1"
    body = ErrorBody.model_validate_json(bytes(response.body))
    assert body.error.code == cls.code
    assert body.error.type == ERRORS[cls.code].type
    # A stream's ``event: error`` carries the same JSON.
    assert error_json(error.body()) == bytes(response.body)


def test_starlettes_refusals_use_codes_of_their_status() -> None:
    for status, code in HTTP_ERROR_CODES.items():
        assert ERRORS[code].status == status
    assert HTTP_OTHER_CODE in ERRORS
