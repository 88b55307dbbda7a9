"""Reference content generated from the code at build time, so it cannot drift from it.

A page asks for generated Markdown with a directive on a line of its own::

    <!-- saasllm: settings_reference -->
    <!-- saasllm: model_reference saasllm_server.upstreams.config.TeamSpec -->

The hook expands directives in ``on_page_markdown``, before MkDocs parses the page,
so generated links and headings are validated and rewritten like hand-written ones
(output of markdown-exec blocks is not). An unknown directive or a failing
generator stops the build.

* :func:`settings_reference`: one row per field of ``saasllm_server.settings.Settings``.
* :func:`model_reference`: the fields of any pydantic model (the bootstrap file's).
* :func:`http_api_reference` / :func:`operations_table`: the server's OpenAPI document
  (``create_app().openapi()``, no server needed) rendered as Markdown.
* :func:`cli_reference`: ``saasllm-server --help`` and its subcommands.
* :func:`error_vocabulary`: the error body's ``type`` and ``code`` values.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

import annotated_types
from pydantic import AliasChoices
from pydantic.fields import FieldInfo

_STATUS_NAMES = {
    "200": "OK",
    "204": "No Content",
    "401": "Unauthorized",
    "403": "Forbidden",
    "404": "Not Found",
    "409": "Conflict",
    "413": "Content Too Large",
    "422": "Unprocessable Content",
    "429": "Too Many Requests",
    "502": "Bad Gateway",
    "503": "Service Unavailable",
    "504": "Gateway Timeout",
}

_TAG_TITLES = {
    "jobs": "Job API",
    "openai-compatible": "OpenAI-compatible API",
    "admin": "Admin API",
    "health": "Health",
}


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


# --- settings ---------------------------------------------------------------------------


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(arg) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return " | ".join(repr(arg) for arg in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(arg) for arg in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _env_names(name: str, field: FieldInfo, prefix: str) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [c for c in alias.choices if isinstance(c, str) and c.isupper()]
    if isinstance(alias, str):
        return [alias.upper()]
    return [f"{prefix}{name}".upper()]


def _bounds(field: FieldInfo) -> str:
    symbols = []
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            symbols.append(f"≥ {item.ge}")
        elif isinstance(item, annotated_types.Gt):
            symbols.append(f"> {item.gt}")
        elif isinstance(item, annotated_types.Le):
            symbols.append(f"≤ {item.le}")
        elif isinstance(item, annotated_types.Lt):
            symbols.append(f"< {item.lt}")
        elif isinstance(item, annotated_types.MinLen):
            symbols.append(f"length ≥ {item.min_length}")
        elif isinstance(item, annotated_types.MaxLen):
            symbols.append(f"length ≤ {item.max_length}")
    return ", ".join(symbols)


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        try:
            value = field.get_default(call_default_factory=True)
        except TypeError:  # a factory that needs the validated data
            return "*computed*"
        if hasattr(value, "model_fields"):  # a nested settings model: its own defaults
            return "*its defaults*"
        return f"`{value!r}`"
    if field.is_required():
        return "*required*"
    if field.default is None:
        return "*unset*"
    return f"`{field.default!r}`" if isinstance(field.default, str) else f"`{field.default}`"


def settings_reference() -> str:
    """One section per ``Settings`` field, read from the model itself.

    Each section's id is the field's name, so other pages can link to
    ``configuration.md#<name>``.
    """
    from saasllm_server.settings import Settings

    prefix = str(Settings.model_config.get("env_prefix", ""))
    sections = []
    for name, field in Settings.model_fields.items():
        env = ", ".join(f"`{e}`" for e in _env_names(name, field, prefix))
        facts = [f"**Environment:** {env}", f"**Type:** `{_type_name(field.annotation)}`"]
        facts.append(f"**Default:** {_default(field)}")
        bounds = _bounds(field)
        if bounds:
            facts.append(f"**Allowed:** {bounds}")
        description = field.description or "*No description in the code yet.*"
        sections.append(f"### `{name}` {{ #{name} }}\n\n{' · '.join(facts)}\n\n{description}\n")
    return "\n".join(sections)


# --- configuration models ---------------------------------------------------------------


def model_reference(dotted: str) -> str:
    """A Markdown table of a pydantic model's fields; ``dotted`` is ``module.ClassName``."""
    import importlib

    module_name, _, class_name = dotted.rpartition(".")
    model = getattr(importlib.import_module(module_name), class_name)
    rows = ["| Field | Type | Default | Notes |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        notes = " ".join(part for part in (field.description or "", _bounds(field)) if part)
        rows.append(
            f"| `{name}` | `{_type_name(field.annotation)}` "
            f"| {_cell(_default(field))} | {_cell(notes)} |"
        )
    extra = model.model_config.get("extra")
    if extra == "allow":
        rows.append("| *other keys* | | | Accepted and kept. |")
    return "\n".join(rows) + "\n"


def validate_gateway_config(path: str) -> str:
    """Load a config file with the server's own loader; a summary line, or an exception."""
    from pathlib import Path

    from saasllm_docs import REPO_ROOT
    from saasllm_server.upstreams.config import GatewayConfig

    config = GatewayConfig.load(REPO_ROOT / Path(path))
    teams = [team.id for org in config.organizations for team in org.teams]
    return (
        f"`{path}` loads with `GatewayConfig.load`: {len(config.model_list)} deployments, "
        f"{len(config.model_groups)} model groups "
        f"({', '.join(g.name for g in config.model_groups)}), "
        f"{len(config.organizations)} organization(s), teams {', '.join(teams)}.\n"
    )


# --- CLI ---------------------------------------------------------------------------------


def cli_reference() -> str:
    """``saasllm-server --help`` and each subcommand's help, from the CLI's own parser."""
    import argparse
    import os

    from saasllm_server.cli import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width
    try:
        parser = build_parser()
        parser.prog = "saasllm-server"
        blocks = [("saasllm-server --help", parser.format_help())]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    blocks.append((f"saasllm-server {name} --help", sub.format_help()))
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    fence = "`" * 8
    return "\n".join(
        f'{fence}text title="{title}"\n{text.rstrip()}\n{fence}\n' for title, text in blocks
    )


# --- error vocabulary -------------------------------------------------------------------


def error_vocabulary() -> str:
    """The error body's ``type`` and ``code`` values, from the wire schema's enums."""
    from saasllm_schema import ErrorCode, ErrorType

    types_ = ", ".join(f"`{t.value}`" for t in ErrorType)
    codes = ", ".join(f"`{c.value}`" for c in ErrorCode)
    return f"* **`type`**: {types_}\n* **`code`**: {codes}\n"


# --- OpenAPI ------------------------------------------------------------------------------


@cache
def openapi_document() -> Mapping[str, Any]:
    """The gateway's OpenAPI document, from the app factory (no server, no database)."""
    from saasllm_server.app import create_app

    document: Mapping[str, Any] = create_app().openapi()
    return document


def openapi_json() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=False) + "\n"


def _anchor(schema_name: str) -> str:
    return "schema-" + re.sub(r"[^a-z0-9]+", "-", schema_name.lower()).strip("-")


def _schema_type(schema: Mapping[str, Any]) -> str:
    """A short, linked description of a JSON schema: ``[Job](#schema-job)``, ``list[str]``..."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " \\| ".join(_schema_type(s) for s in schema[key])
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _schema_type(schema["allOf"][0])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        return f"list[{_schema_type(items)}]" if isinstance(items, Mapping) else "list"
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and extra:
            return f"dict[str, {_schema_type(extra)}]"
        return "object"
    if kind == "null":
        return "null"
    if isinstance(kind, str):
        fmt = schema.get("format")
        return f"{kind} ({fmt})" if fmt else kind
    return "any"


def _constraints(schema: Mapping[str, Any]) -> str:
    parts: list[str] = []
    options = [schema, *schema.get("anyOf", [])]
    for option in options:
        for key, label in (
            ("minimum", "≥"),
            ("exclusiveMinimum", ">"),
            ("maximum", "≤"),
            ("exclusiveMaximum", "<"),
            ("minLength", "length ≥"),
            ("maxLength", "length ≤"),
            ("minItems", "items ≥"),
            ("maxItems", "items ≤"),
            ("pattern", "pattern"),
        ):
            if key in option:
                value = option[key]
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                text = f"`{value}`" if key == "pattern" else str(value)
                parts.append(f"{label} {text}")
    return ", ".join(parts)


def _body_schema(content: Mapping[str, Any] | None) -> tuple[str, str]:
    """(media types, schema text) of a request or response ``content`` map."""
    if not content:
        return "", ""
    media = ", ".join(f"`{m}`" for m in content)
    schemas = [c["schema"] for c in content.values() if isinstance(c, Mapping) and c.get("schema")]
    return media, " / ".join(_schema_type(s) for s in schemas)


def _operations(document: Mapping[str, Any]) -> Iterable[tuple[str, str, Mapping[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method.upper(), path, operation


def operation_anchor(method: str, path: str) -> str:
    """The id of an operation's heading on the HTTP API page, e.g. ``op-post-admin-teams``."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-")
    return f"op-{slug}"


def _operation_markdown(method: str, path: str, op: Mapping[str, Any]) -> list[str]:
    lines = [f"### `{method} {path}` {{ #{operation_anchor(method, path)} }}", ""]
    summary = op.get("summary")
    if summary:
        lines += [f"**{summary}**", ""]
    description = (op.get("description") or "").strip()
    if description:
        lines += [description, ""]
    params = op.get("parameters") or []
    if params:
        lines += [
            "| Parameter | In | Type | Required | Description |",
            "|---|---|---|---|---|",
        ]
        for p in params:
            schema = p.get("schema") or {}
            lines.append(
                f"| `{p['name']}` | {p.get('in', '')} | {_schema_type(schema)} "
                f"| {'yes' if p.get('required') else 'no'} | {_cell(p.get('description', ''))} |"
            )
        lines.append("")
    body = op.get("requestBody")
    if isinstance(body, Mapping):
        media, schema_text = _body_schema(body.get("content"))
        required = " (required)" if body.get("required") else ""
        lines += [f"Request body{required}: {schema_text} as {media}", ""]
    responses = op.get("responses") or {}
    if responses:
        lines += ["| Status | Meaning | Body |", "|---|---|---|"]
        for status, response in responses.items():
            media, schema_text = _body_schema(response.get("content"))
            body_text = schema_text or media or "—"
            if schema_text and "text/event-stream" in media:
                body_text = f"{schema_text}, or SSE (`text/event-stream`)"
            elif "text/event-stream" in media:
                body_text = "SSE (`text/event-stream`)"
            name = _STATUS_NAMES.get(str(status), "")
            lines.append(
                f"| {status} {name} | {_cell(response.get('description', ''))} | {body_text} |"
            )
        lines.append("")
    return lines


def _schema_markdown(name: str, schema: Mapping[str, Any]) -> list[str]:
    lines = [f"### {name} {{ #{_anchor(name)} }}", ""]
    description = (schema.get("description") or "").strip()
    if description:
        lines += [description, ""]
    properties: Mapping[str, Any] = schema.get("properties") or {}
    if "enum" in schema and not properties:
        values = ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
        return [*lines, f"One of: {values}", ""]
    if not properties:
        return [*lines, f"Type: {_schema_type(schema)}", ""]
    required = set(schema.get("required") or [])
    lines += [
        "| Field | Type | Required | Default | Notes |",
        "|---|---|---|---|---|",
    ]
    for field_name, field_schema in properties.items():
        default = f"`{json.dumps(field_schema['default'])}`" if "default" in field_schema else ""
        notes = " ".join(
            part
            for part in (
                (field_schema.get("description") or "").strip(),
                _constraints(field_schema),
            )
            if part
        )
        lines.append(
            f"| `{field_name}` | {_schema_type(field_schema)} "
            f"| {'yes' if field_name in required else 'no'} | {_cell(default)} | {_cell(notes)} |"
        )
    lines.append("")
    return lines


def operations_table(tag: str, page: str = "../reference/http-api.md") -> str:
    """A table of one tag's operations, each linked to its section of the HTTP API page."""
    rows = ["| Endpoint | What it does |", "|---|---|"]
    for method, path, op in _operations(openapi_document()):
        if tag in (op.get("tags") or []):
            link = f"{page}#{operation_anchor(method, path)}"
            rows.append(f"| [`{method} {path}`]({link}) | {_cell(op.get('summary', ''))} |")
    if len(rows) == 2:
        raise ValueError(f"no operation is tagged {tag!r}")
    return "\n".join(rows) + "\n"


def http_api_reference() -> str:
    """The whole HTTP API as Markdown: operations grouped by tag, then every schema."""
    document = openapi_document()
    info = document.get("info", {})
    lines = [
        f"Generated from the OpenAPI {document.get('openapi', '')} document of "
        f"**{info.get('title', '')} {info.get('version', '')}** at build time.",
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, Mapping[str, Any]]]] = {}
    for method, path, op in _operations(document):
        tag = (op.get("tags") or ["other"])[0]
        by_tag.setdefault(tag, []).append((method, path, op))
    order = [t for t in _TAG_TITLES if t in by_tag] + [t for t in by_tag if t not in _TAG_TITLES]
    for tag in order:
        lines += [f"## {_TAG_TITLES.get(tag, tag.title())}", ""]
        for method, path, op in by_tag[tag]:
            lines += _operation_markdown(method, path, op)
    schemas: Mapping[str, Any] = document.get("components", {}).get("schemas", {})
    if schemas:
        lines += ["## Schemas", ""]
        for name in sorted(schemas):
            lines += _schema_markdown(name, schemas[name])
    return "\n".join(lines) + "\n"


# --- directives ---------------------------------------------------------------------------

_DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)<!-- saasllm: (?P<name>[a-z_]+)(?: (?P<arg>\S+))? -->$", re.MULTILINE
)


class DirectiveError(ValueError):
    """A directive names no generator, or its generator failed."""


def _generators() -> dict[str, Callable[..., str]]:
    from saasllm_docs.examples import faults_gateway_config

    return {
        "settings_reference": settings_reference,
        "model_reference": model_reference,
        "validate_gateway_config": validate_gateway_config,
        "cli_reference": cli_reference,
        "error_vocabulary": error_vocabulary,
        "operations_table": operations_table,
        "http_api_reference": http_api_reference,
        "faults_gateway_config": faults_gateway_config,
    }


def expand_directives(markdown: str, page: str) -> str:
    """Replace every ``<!-- saasllm: name [arg] -->`` line with what ``name(arg)`` returns."""
    generators = _generators()

    def expand(match: re.Match[str]) -> str:
        name, arg = match.group("name"), match.group("arg")
        generator = generators.get(name)
        if generator is None:
            raise DirectiveError(f"{page}: unknown directive {name!r}")
        try:
            text = generator(arg) if arg is not None else generator()
        except Exception as exc:
            raise DirectiveError(f"{page}: directive {match.group(0)} failed: {exc!r}") from exc
        # Indented directives (inside an admonition, a tab) get indented content.
        indent = match.group("indent")
        return "\n".join(indent + line if line else line for line in text.splitlines())

    return _DIRECTIVE.sub(expand, markdown)
