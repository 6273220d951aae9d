"""A matching day in a real Chromium: a company choosing on a tablet (768 px), its printed
timetable, and a participant's timetable on a phone (390 px); each page checked with axe-core
(WCAG 2.2 A and AA) and for sideways scrolling; and 「採用を記録」 after a match."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from playwright.async_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from tests.browser.a11y import assert_accessible
from tests.browser.live_server import LiveServer
from tests.browser.matching_tour import company_tour, hire_tour, participant_tour, seed_matching

NewPage = Callable[..., Awaitable[Page]]


async def _no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] if page.viewport_size else True, width


async def test_a_company_chooses_on_a_tablet_and_prints_its_timetable(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession
) -> None:
    data = await seed_matching(db)
    page = await new_page(768, 1024)

    async def check(name: str) -> None:
        await assert_accessible(page, name)
        await _no_sideways_scroll(page)

    await company_tour(page, live_server.url("").rstrip("/"), data, check)
    assert "09000000500" not in await page.content()  # no phone before a match


async def test_a_participant_reads_the_timetable_on_a_phone(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession
) -> None:
    data = await seed_matching(db)
    page = await new_page(390, 844)

    async def check(name: str) -> None:
        await assert_accessible(page, name)
        await _no_sideways_scroll(page)

    await participant_tour(page, live_server.url("").rstrip("/"), data, check)
    text = await page.content()
    assert "株式会社駿河精機" in text or "meet.example.jp" in text


async def test_a_company_records_a_hire_after_a_match_on_a_tablet(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession
) -> None:
    data = await seed_matching(db)
    page = await new_page(768, 1024)

    async def check(name: str) -> None:
        await assert_accessible(page, name)
        await _no_sideways_scroll(page)

    await hire_tour(page, live_server.url("").rstrip("/"), data, check)
