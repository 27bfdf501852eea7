"""Browser tests of the web page: one `clipshoe demo` server (embedded, generated sample catalogue)
and one headless Chromium from Debian's package, shared by every test in this folder.

No browser is ever downloaded: without /usr/bin/chromium (or Playwright's Python package) the
tests skip. Screenshots land in test-artifacts/web/ for CI to keep.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.utils.server import running_demo

CHROMIUM = Path(os.environ.get("CLIPSHOE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


def skip_without_browser() -> None:
    """Called at the top of each test module: skip it cleanly where no browser can run."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)
    pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install -e .[dev])")


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path

    def sample_photo(self) -> Path:
        return next(iter(sorted((self.data_dir / "sample" / "images").glob("*.jpg"))))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`clipshoe demo` as a user runs it, embedded over its generated sample catalogue."""
    data_dir = tmp_path_factory.mktemp("web") / "var"
    # The jobs page test submits a feed it writes under pytest's temp folder.
    roots = json.dumps([str(tmp_path_factory.getbasetemp())])
    with running_demo(data_dir, env={"CLIPSHOE_INGEST__FEED_ROOTS": roots}) as base:
        yield Server(base, data_dir)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    # launch() starts Chromium on a fresh temporary profile (its own --user-data-dir) every time.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, server: Server, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh context (no storage) in English, desktop size; screenshot kept as an artifact."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", base_url=server.url)
    ctx.set_default_timeout(15_000)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
