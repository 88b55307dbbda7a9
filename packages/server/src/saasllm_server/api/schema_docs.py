"""The API's own description, served to whom it concerns.

``/openapi.json`` and ``/docs`` describe the public API (jobs, ``/v1``, health):
anyone may read them. The admin API's routes, models and scopes are described at
``/admin/openapi.json`` to an admin key (scope ``read``), unless the operator opts
in to publishing them (``SAASLLM_PUBLISH_ADMIN_SCHEMA``). ``app.openapi()`` keeps
the whole document, for the docs build.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from saasllm_server.api.admin.auth import Reader

_REF = "#/components/schemas/"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF):
                yield value.removeprefix(_REF)
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def without_admin(document: dict[str, Any]) -> dict[str, Any]:
    """The document minus the admin paths and every schema only they use."""
    paths = {p: op for p, op in document["paths"].items() if not p.startswith("/admin")}
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    kept: set[str] = set()
    todo = list(_refs(paths))
    while todo:
        name = todo.pop()
        if name not in kept and name in schemas:
            kept.add(name)
            todo.extend(_refs(schemas[name]))
    public = {**document, "paths": paths}
    public["components"] = {
        **document.get("components", {}),
        "schemas": {name: schemas[name] for name in schemas if name in kept},
    }
    return public


def install(app: FastAPI, *, publish_admin: bool) -> None:
    documents: dict[str, dict[str, Any]] = {}

    def public_document() -> dict[str, Any]:
        if publish_admin:
            return app.openapi()
        if "public" not in documents:
            documents["public"] = without_admin(app.openapi())
        return documents["public"]

    router = APIRouter(include_in_schema=False)

    @router.get("/openapi.json")
    async def openapi_json() -> JSONResponse:
        return JSONResponse(public_document())

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - docs")

    @router.get("/admin/openapi.json")
    async def admin_openapi_json(actor: Reader) -> JSONResponse:
        return JSONResponse(app.openapi())

    app.include_router(router)
