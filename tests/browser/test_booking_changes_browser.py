"""Finding a person and the steps that undo one, in a real Chromium at 390, 768, 1024 and 1280
px: the console search (by phone as typed, newest session first, the number on one line),
changing a booking from what was found, and the confirmation pages before 「〇〇さんだけ取り消す」
(public look-up and console) and 「辞退」 — with JavaScript off, as they must work without it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.bookings.schemas import validate_booking_input
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import NewPage
from tests.browser.journeys import horizontal_overflow, look_up
from tests.browser.live_server import LiveServer
from tests.factories import make_event, make_session
from tests.manage_support import PASSWORD, make_staff

WIDTHS = [390, 768, 1024, 1280]
KAZUKO = {
    "name": "駿河 和子",
    "name_kana": "するが かずこ",
    "phone": "054-254-2770",
    "companions": [{"name": "駿河 一郎", "name_kana": "するが いちろう"}],
}


async def _log_in(page: Page, live_server: LiveServer, path: str) -> None:
    await page.goto(live_server.url(path))
    await page.get_by_label("ユーザー名").fill("desk")
    await page.get_by_label("パスワード").fill(PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="ログイン").click()


async def _seed(db: AsyncSession) -> tuple[int, int, str]:
    """Kazuko and her husband booked in two events (the later session first in the list);
    someone waits behind them in the sooner one. (sooner booking id, later id, sooner code)"""
    await make_staff(db, "organizer", username="desk")
    sooner = await make_session(db, capacity=2, waitlist_limit=3, starts_in=timedelta(days=5))
    later = await make_session(
        db, event=await make_event(db, title="春のお仕事面談会"), starts_in=timedelta(days=40)
    )
    a = await bookings.book(db, sooner.id, validate_booking_input(KAZUKO))
    b = await bookings.book(db, later.id, validate_booking_input(KAZUKO))
    waiting = validate_booking_input(
        {"name": "清水 花子", "name_kana": "しみず はなこ", "phone": "090-1111-2222"}
    )
    await bookings.book(db, sooner.id, waiting)
    # The desk has to phone Kazuko (the call list's 辞退 settles that call).
    await db.execute(
        text(
            "INSERT INTO call_tasks (booking_id, kind, reason, script, due_at) "
            "VALUES (:b, 'session_changed', 'no_email', '日時が変わりました。', now())"
        ),
        {"b": a.id},
    )
    await db.commit()
    return a.id, b.id, a.display_code


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_caller_who_lost_the_code_is_found_and_the_booking_changed(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession, width: int
) -> None:
    sooner_id, later_id, _ = await _seed(db)
    page = await new_page(width=width, height=900)
    await _log_in(page, live_server, "/manage")
    await page.get_by_role("link", name="予約を探す").click()
    await page.get_by_label("予約番号（下4けただけでも）・電話番号・お名前・ふりがな").fill(
        "０５４（２５４）２７７０"
    )
    async with page.expect_navigation():
        await page.get_by_role("button", name="探す", exact=True).click()
    links = page.locator(".found-link")
    await expect(links).to_have_count(2)
    # Newest session first.
    assert (await links.nth(0).get_attribute("href")) == f"/manage/bookings/{later_id}"
    assert (await links.nth(1).get_attribute("href")) == f"/manage/bookings/{sooner_id}"
    # The number to read back stays on one line, at every width.
    phone = links.nth(0).locator(".found-phone")
    await expect(phone).to_have_text("054-254-2770")
    box = await phone.bounding_box()
    assert box is not None and box["height"] < 40, box
    assert await horizontal_overflow(page) == 0
    await assert_accessible(page, f"search results at {width}px")

    async with page.expect_navigation():
        await links.nth(1).click()
    async with page.expect_navigation():
        await page.get_by_role("link", name="内容を変更する").click()
    await page.get_by_label("同伴者1：お名前").fill("")
    await page.get_by_label("同伴者1：ふりがな").fill("")
    await page.get_by_label("配慮事項（例：車いす、筆談、手話通訳、補聴器）").fill("杖を使います")
    assert await horizontal_overflow(page) == 0
    async with page.expect_navigation():
        await page.get_by_role("button", name="変更を保存する").click()
    await expect(page.locator(".flash")).to_contain_text("予約を変更しました")
    await expect(page.locator("dd.needs")).to_have_text("杖を使います")
    # The seat given back went to the one waiting.
    await page.goto(live_server.url("/manage/search?q=しみず"))
    await expect(page.locator(".found-state").first).to_contain_text("予約確定")


@pytest.mark.parametrize("width", WIDTHS)
async def test_undoing_a_person_asks_once_more_without_javascript(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession, width: int
) -> None:
    sooner_id, _, code = await _seed(db)
    page = await new_page(width=width, height=900, java_script_enabled=False)

    # The public look-up page: the companion's button opens a question, nothing more.
    await look_up(page, live_server.base_url, code, KAZUKO["phone"])
    async with page.expect_navigation():
        await page.get_by_role("button", name="駿河 一郎さんだけ取り消す").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "駿河 一郎さんの参加だけを取り消しますか？"
    )
    await expect(page.locator("main")).to_contain_text("キャンセル待ちの方が繰り上がります")
    assert await horizontal_overflow(page) == 0
    async with page.expect_navigation():
        await page.get_by_role("link", name="いいえ、取り消しません").click()
    await expect(page.locator("main")).to_contain_text("2名")
    async with page.expect_navigation():
        await page.get_by_role("button", name="駿河 一郎さんだけ取り消す").click()
    async with page.expect_navigation():
        await page.get_by_role("button", name="はい、駿河 一郎さんの参加を取り消します").click()
    await expect(page.locator(".notice").first).to_contain_text("1名になりました")
    # Reload posts nothing again (the answer was a redirect to a GET page).
    await page.reload()
    await expect(page.locator(".notice").first).to_contain_text("1名になりました")

    # (axe needs JavaScript: these pages are checked by the tours of the accessibility tests.)
    # The console: 辞退 asks first; the way back is the big button, the undoing one apart.
    await _log_in(page, live_server, f"/manage/bookings/{sooner_id}/calls/declined")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("辞退として")
    await expect(page.locator("main")).not_to_contain_text("繰り上がります")
    back = await page.get_by_role("link", name="取り消さずに戻る").bounding_box()
    undo = await page.get_by_role("button", name="辞退として取り消す").bounding_box()
    assert back is not None and undo is not None
    apart = max(undo["x"] - (back["x"] + back["width"]), undo["y"] - (back["y"] + back["height"]))
    assert apart >= 24, (back, undo)
    assert await horizontal_overflow(page) == 0
    async with page.expect_navigation():
        await page.get_by_role("button", name="辞退として取り消す").click()
    await expect(page.locator(".flash")).to_contain_text("辞退として予約を取り消しました")
