"""The LINE pages in a real Chromium with LINE connected: the account-link page (and its error
state), the look-up page's unlink question, and the console's news and desk-code pages: axe-core
at WCAG 2.2 A and AA with zero violations, no sideways scrolling at 320px, the sizes older eyes
and hands need on the public pages."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.async_api import Page
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.normalize import format_code
from service.domain.line.repository import LineRepository, NewsPrefs
from service.platform.settings import Settings
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import NewPage
from tests.browser.console_tour import PASSWORD
from tests.browser.journeys import horizontal_overflow
from tests.browser.live_server import LiveServer, serve
from tests.browser.test_public_accessibility import small_targets, small_text
from tests.factories import person
from tests.line_standin import SECRET, TOKEN
from tests.mail_support import arq_pool, book_and_commit, session_at, tokyo_day
from tests.manage_support import make_staff


@pytest.fixture
def line_server(settings: Settings) -> Iterator[LiveServer]:
    line = dataclasses.replace(
        settings,
        line_channel_secret=SECRET,
        line_channel_access_token=TOKEN,
        # Nothing is pushed in these tests: no stand-in needed.
        line_api_base_url="http://127.0.0.1:9",
    )
    with serve(line) as server:
        yield server


async def _press(page: Page, name: str) -> None:
    async with page.expect_navigation():
        await page.get_by_role("button", name=name, exact=True).first.click()


@pytest.mark.parametrize("width", [320, 1280])
async def test_the_line_pages_are_accessible(
    line_server: LiveServer, new_page: NewPage, db: AsyncSession, width: int
) -> None:
    session = await session_at(db, tokyo_day(10) + timedelta(hours=10))
    async with arq_pool(line_server.settings) as redis:
        view = await book_and_commit(db, redis, session.id, person(1))
    person_id = await db.scalar(
        text("SELECT person_id FROM bookings WHERE id = :b"), {"b": view.id}
    )
    await LineRepository(db).link("U" + "1" * 32, int(person_id), NewsPrefs())
    await make_staff(db, "organizer", username="line-desk")
    await db.commit()
    page = await new_page(width=width, height=800)
    problems: list[str] = []

    async def check(name: str, public: bool = True) -> None:
        await assert_accessible(page, f"{name} at {width}px")
        if width == 320 and (overflow := await horizontal_overflow(page)):
            problems.append(f"{name}: {overflow}px of sideways scrolling at 320px")
        if public and (small := await small_targets(page)):
            problems.append(f"{name}: targets under 44px: {small}")
        if public and (small := await small_text(page)):
            problems.append(f"{name}: text too small or too tight: {small}")

    await page.goto(line_server.url("/line/link?linkToken=LTbrowser"))
    await check("line-link")
    await page.locator("#code").fill("0000-0000-0000")
    await page.locator("#phone").fill("090-0000-0000")
    await _press(page, "確認してLINEに戻る")
    assert "確認できませんでした" in await page.content()
    await check("line-link-error")

    await page.goto(line_server.url("/bookings/lookup"))
    await page.locator("#code").fill(format_code(view.code))
    await page.locator("#phone").fill(view.phone)
    await _press(page, "予約を確認する")
    await check("details-line-linked")
    async with page.expect_navigation():
        await page.get_by_role("link", name="LINEとの連携をやめる").click()
    await check("line-unlink-question")

    await page.goto(line_server.url("/manage/login"))
    await page.locator("#username").fill("line-desk")
    await page.locator("#password").fill(PASSWORD)
    await _press(page, "ログイン")
    await page.goto(line_server.url(f"/manage/events/{session.event_id}/line-news"))
    await check("console-line-news", public=False)
    await page.goto(line_server.url(f"/manage/bookings/{view.id}"))
    await _press(page, "LINE連携コードを発行")
    await check("console-line-code", public=False)
    assert not problems, "\n".join(problems)
