"""``saasllm-server demo`` runs on these test doubles without the server depending on them."""

from __future__ import annotations

import re
import sys

import pytest

from saasllm_server.demo import DEMO_EXTRA, DemoUnavailable, start_demo_upstream


@pytest.mark.parametrize("fake", [True, False])
def test_without_the_testing_package_the_demo_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, fake: bool
) -> None:
    for name in [n for n in sys.modules if n.split(".")[0] == "saasllm_testing"]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(DemoUnavailable, match=re.escape(f"pip install '{DEMO_EXTRA}'")) as caught:
        start_demo_upstream(fake=fake, threads=1)
    assert DEMO_EXTRA == "saasllm-server[demo]"
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_the_demo_starts_the_fake_through_the_testing_package() -> None:
    upstream = start_demo_upstream(fake=True, threads=1)
    try:
        assert upstream.alias == "fake"
        assert upstream.base_url.startswith("http://127.0.0.1:")
    finally:
        assert upstream.stop_sync() == 0
