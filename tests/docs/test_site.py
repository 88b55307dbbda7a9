"""The docs site builds strictly, fails when an example breaks, and renders in a browser."""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs.building import REPO_ROOT, Build, mkdocs_build
from tests.support import services

pytestmark = [pytest.mark.docs, pytest.mark.timeout(1200)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STREAMING_EXAMPLES = [
    "streaming_01_basic",
    "streaming_02_accumulating",
    "streaming_03_interactive",
    "streaming_04_system_prompt",
    "streaming_05_multi_document",
    "streaming_06_progress",
    "streaming_07_error_handling",
    "streaming_08_concurrent",
    "streaming_09_to_file",
    "streaming_10_timeout",
]
ARTIFACTS = REPO_ROOT / "artifacts" / "docs"


def test_strict_build_passes(docs_build: Build) -> None:
    assert docs_build.returncode == 0, docs_build.output[-6000:]
    site = docs_build.site_dir
    for page in (
        "index.html",
        "examples/streaming/index.html",
        "operators/configuration/index.html",
        "reference/http-api/index.html",
        "reference/sdk/index.html",
        "reference/openapi.json",
    ):
        assert (site / page).is_file(), page
    print(f"\ndocs build: {docs_build.seconds:.0f} s")


def test_streaming_page_shows_every_example_with_its_output(docs_site: Path) -> None:
    html = (docs_site / "examples" / "streaming" / "index.html").read_text()
    shown = re.findall(r'<div class="example-output" data-example="([a-z0-9_]+)">', html)
    assert shown == STREAMING_EXAMPLES
    for name in STREAMING_EXAMPLES:
        # The file itself, included by pymdownx.snippets, above its output.
        source = (REPO_ROOT / "examples" / f"{name}.py").read_text()
        first_line = source.splitlines()[0]  # "import asyncio"
        assert f"examples/{name}.py</span>" in html
        assert first_line.split()[0] in html
    assert "Credits remaining: 999" in html  # Example 1, on a team reset to 1000 credits


def test_generated_reference_matches_the_code(docs_site: Path) -> None:
    from saasllm_server.settings import Settings

    configuration = (docs_site / "operators" / "configuration" / "index.html").read_text()
    for name in Settings.model_fields:
        assert f"<code>{name}</code>" in configuration, name
    http_api = (docs_site / "reference" / "http-api" / "index.html").read_text()
    from saasllm_server.app import create_app

    for path in create_app().openapi()["paths"]:
        assert f"{path}</code>" in http_api.replace("&#123;", "{").replace("&#125;", "}"), path


def test_a_broken_example_fails_the_strict_build(broken_project: Path, tmp_path: Path) -> None:
    example = broken_project / "examples" / "streaming_01_basic.py"
    source = example.read_text()
    assert "client.chat_stream(" in source
    example.write_text(source.replace("client.chat_stream(", "client.chat_streem("))

    build = mkdocs_build(
        broken_project,
        tmp_path / "site",
        # The fake upstream and fail-fast keep this build short: what is under test is
        # that a failing example aborts a strict build, not what the model says.
        env={"SAASLLM_DOCS_UPSTREAM": "fake", "SAASLLM_DOCS_FAIL_FAST": "1"},
        timeout=600,
    )

    assert build.returncode != 0, build.output[-4000:]
    assert "Execution of python code block" in build.output
    assert "streaming_01_basic" in build.output
    assert "chat_streem" in build.output  # the AttributeError, quoted from the example's stderr
    assert "in strict mode" in build.output


@pytest.fixture
def site_url(docs_site: Path) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1 (the theme's scripts expect http://)."""
    handler = functools.partial(QuietHandler, directory=str(docs_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium (Playwright drives it; no browser download): skip or fail without it."""
    if not CHROMIUM.exists():
        services.unavailable(f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
    return CHROMIUM


def test_streaming_page_in_headless_chromium(chromium: Path, site_url: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "streaming-examples.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{site_url}/examples/streaming/", wait_until="load")

            assert page.title().startswith("Streaming examples")
            outputs = page.locator("div.example-output")
            assert outputs.count() == len(STREAMING_EXAMPLES)
            for index, name in enumerate(STREAMING_EXAMPLES):
                block = outputs.nth(index)
                assert block.get_attribute("data-example") == name
                assert block.is_visible(), name
                text = block.locator("code").inner_text()
                assert text.strip(), f"{name}: empty output block"
                title = block.locator(".filename").inner_text()
                assert f"examples.{name}" in title, title
            # The code of each example is rendered above its output, with a copy button.
            assert page.locator("div.highlight span.filename").filter(
                has_text=re.compile(r"^examples/streaming_\d\d_\w+\.py$")
            ).count() == len(STREAMING_EXAMPLES)
            copy_buttons = page.locator('button[data-md-type="copy"]')  # added by the theme's JS
            copy_buttons.first.wait_for(timeout=10_000)
            assert copy_buttons.count() >= 2 * len(STREAMING_EXAMPLES)  # code and output
            page.screenshot(path=str(screenshot), full_page=True)
            assert not errors, errors
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
    print(f"\nscreenshot: {screenshot.relative_to(REPO_ROOT)}")
    if os.environ.get("GITHUB_ACTIONS") or os.environ.get("CI"):
        print(f"CI artefact: {screenshot}")
