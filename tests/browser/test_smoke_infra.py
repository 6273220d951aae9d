from __future__ import annotations

from playwright.async_api import Page

from tests.browser.a11y import assert_accessible
from tests.browser.live_server import LiveServer


async def test_home_renders_and_is_accessible(live_server: LiveServer, page: Page) -> None:
    r = await page.goto(live_server.url("/"))
    assert r is not None and r.status == 200
    assert await page.get_attribute("html", "lang") == "ja"
    await assert_accessible(page, "home")
