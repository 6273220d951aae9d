"""The checker itself finds problems: a page with known WCAG failures gives violations."""

from __future__ import annotations

from playwright.async_api import Page

from tests.browser.a11y import axe_violations
from tests.browser.journeys import horizontal_overflow


async def test_axe_reports_known_failures(page: Page) -> None:
    await page.set_content(
        '<html><head><title>x</title></head><body><main><input id="q">'
        '<p style="color:#aaa;background:#fff">淡い文字</p>'
        '<div style="width:2000px">wide</div></main></body></html>'
    )
    found = {v["id"] for v in await axe_violations(page)}
    assert {"html-has-lang", "label", "color-contrast"} <= found
    assert await horizontal_overflow(page) > 0
