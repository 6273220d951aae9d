"""Browser tests: the real app under uvicorn on a loopback port, driven by Debian's headless
Chromium through Playwright (launched from /usr/bin/chromium; Playwright downloads no browser).

Fixtures for any browser test (public pages and the staff console):
- `live_server`: the app on its own free port, against the test's own database and Redis
  (the `settings` fixture), started and stopped around each test. `live_server.url("/path")`.
- `browser`: one headless Chromium for the whole run.
- `page`: a fresh browser context (cookies, storage) and page per test, Japanese locale,
  1280x900; `nojs_page` the same with JavaScript off; `new_page(width=..., height=...,
  java_script_enabled=...)` for other viewports.
- `tests.browser.a11y.assert_accessible(page, label)`: axe-core at WCAG 2.2 A and AA.

Every test in this folder is marked `browser`. Without /usr/bin/chromium they are skipped, and
the end of the run says so loudly, naming each one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from service.platform.settings import Settings
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, chromium_available
from tests.browser.live_server import LiveServer, serve

DEFAULT_VIEWPORT = {"width": 1280, "height": 900}
# Generous: the machine is small and shared; these only bound a hang, they time nothing.
ACTION_TIMEOUT_MS = 15_000

BROWSER_DIR = Path(__file__).resolve().parent
_not_run: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    available = chromium_available()
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)
        if not available and item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is missing: browser test not run"))
            _not_run.append(item.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _not_run:
        return
    tr = terminalreporter
    tr.write_sep("!", "BROWSER TESTS NOT RUN", red=True, bold=True)
    tr.write_line(
        f"{CHROMIUM} is missing, so these {len(_not_run)} browser tests (pages, accessibility) "
        "were skipped:",
        red=True,
        bold=True,
    )
    for nodeid in _not_run:
        tr.write_line(f"  NOT RUN  {nodeid}", red=True)
    tr.write_line("Install Debian's browser (apt-get install chromium) and run make test again.")
    tr.write_sep("!", "BROWSER TESTS NOT RUN", red=True, bold=True)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The real app under uvicorn, on the test's own database and Redis."""
    with serve(settings) as server:
        yield server


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not chromium_available():
        pytest.skip(f"{CHROMIUM} is missing")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


NewPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def new_page(browser: Browser) -> AsyncIterator[NewPage]:
    """new_page(width=390, height=844, java_script_enabled=True) -> a page in a fresh context."""
    contexts: list[BrowserContext] = []

    async def make(
        width: int = DEFAULT_VIEWPORT["width"],
        height: int = DEFAULT_VIEWPORT["height"],
        *,
        java_script_enabled: bool = True,
        device_scale_factor: float = 1,
    ) -> Page:
        context = await browser.new_context(
            viewport={"width": width, "height": height},
            locale="ja-JP",
            timezone_id="Asia/Tokyo",
            java_script_enabled=java_script_enabled,
            device_scale_factor=device_scale_factor,
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        return await context.new_page()

    yield make
    for context in contexts:
        await context.close()


@pytest.fixture
async def page(new_page: NewPage) -> Page:
    """A page at 1280x900 in a fresh context."""
    return await new_page()


@pytest.fixture
async def nojs_page(new_page: NewPage) -> Page:
    """A page at 1280x900 with JavaScript off: the public pages must work without it."""
    return await new_page(java_script_enabled=False)
