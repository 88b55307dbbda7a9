"""MkDocs hook: start the gateways the executed examples need, and add generated files.

* ``on_startup``: start the demo gateway (``saasllm-server demo --port 8003``, the
  real local model) and the faults gateway (port 8004, the fake upstream), and wait
  for ``GET /health``. A failure raises ``PluginError``, so the build stops at once.
* ``on_files``: add ``reference/openapi.json``, generated from ``create_app().openapi()``.
* ``on_page_markdown``: expand ``<!-- saasllm: ... -->`` directives into generated
  reference content (settings, config models, CLI help, the HTTP API); see
  ``saasllm_docs.reference``.
* ``on_shutdown`` (and ``atexit``, and SIGTERM to the children if MkDocs dies): stop them.

Once per MkDocs process, so ``mkdocs serve`` keeps one gateway across rebuilds.

MkDocs puts this file's folder on ``sys.path`` while it loads the hook; the import
below leaves ``saasllm_docs`` in ``sys.modules``, which is how the executed blocks
in the pages import it (``from saasllm_docs.examples import example_output``).
"""

from __future__ import annotations

import logging
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from saasllm_docs import gateways, reference

log = logging.getLogger("mkdocs.hooks.saasllm")


def on_startup(command: str, dirty: bool) -> None:
    try:
        gateways.GATEWAYS.start(log=log.info)
    except gateways.GatewayStartError as exc:
        raise PluginError(f"saasllm docs: cannot start the example gateways: {exc}") from exc


def on_files(files: Files, config: MkDocsConfig, **kwargs: Any) -> Files:
    files.append(File.generated(config, "reference/openapi.json", content=reference.openapi_json()))
    return files


def on_page_markdown(markdown: str, page: Page, **kwargs: Any) -> str:
    try:
        return reference.expand_directives(markdown, page.file.src_uri)
    except reference.DirectiveError as exc:
        raise PluginError(str(exc)) from exc


def on_shutdown() -> None:
    gateways.GATEWAYS.stop()
