"""The browser's Back and Reload after booking and after cancelling, in headless Chromium with
JavaScript off. Playwright's Chromium runs with --disable-prompt-on-repost: a page that was the
answer to a POST is then posted again silently, or (no-store) fails with net::ERR_CACHE_MISS,
where Chrome shows people "Confirm Form Resubmission". Every request is recorded, and none may
be a POST; the page shown must say where the person stands."""

from __future__ import annotations

from playwright.async_api import Page, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.models import Booking
from tests.browser.data import add_event
from tests.browser.journeys import HANAKO, book, click, look_up
from tests.browser.live_server import LiveServer


class Requests:
    """What the page sends, from the moment it is cleared."""

    def __init__(self, page: Page) -> None:
        self.sent: list[Request] = []
        page.on("request", self._seen)

    def _seen(self, request: Request) -> None:
        self.sent.append(request)

    def clear(self) -> None:
        self.sent.clear()

    def navigations(self) -> list[tuple[str, str]]:
        return [(r.method, r.url) for r in self.sent if r.is_navigation_request()]

    def assert_no_post(self) -> None:
        posted = [(r.method, r.url) for r in self.sent if r.method != "GET"]
        assert not posted, posted
        assert self.navigations(), "nothing was loaded"


async def _bookings(db: AsyncSession) -> list[tuple[str, str]]:
    db.expire_all()
    rows = await db.execute(select(Booking.code, Booking.status).order_by(Booking.id))
    return [(r.code, r.status) for r in rows]


async def test_back_and_reload_after_booking(
    live_server: LiveServer, nojs_page: Page, db: AsyncSession
) -> None:
    seeded = await add_event(db, capacity=3)
    page = nojs_page
    requests = Requests(page)
    code = await book(page, live_server.base_url, seeded.event_id, seeded.session_ids[0], HANAKO)
    done_url = page.url
    assert "/bookings/done?r=" in done_url

    requests.clear()
    await page.reload()
    requests.assert_no_post()
    assert (await page.locator("#booking-code").inner_text()).strip() == code

    # Back from the done page: the confirmation page again, by GET, saying it is done.
    requests.clear()
    await page.go_back()
    requests.assert_no_post()
    assert "/book/confirm?d=" in page.url
    assert await page.locator("h1").inner_text() == "入力内容の確認"
    notice = page.locator(".notice[role=status]")
    assert "もう受け付けています" in await notice.inner_text()
    assert not await page.get_by_role("button", name="この内容で申し込む").count()
    requests.clear()
    await page.reload()
    requests.assert_no_post()

    # Back once more: the form, by GET; forward twice: the done page again.
    requests.clear()
    await page.go_back()
    assert "/book" in page.url and await page.locator("#name").count() == 1
    await page.go_forward()
    await page.go_forward()
    requests.assert_no_post()
    assert page.url == done_url

    # From the confirmation page, its link leads to the same done page.
    await page.go_back()
    await click(page, "受付完了の画面を見る")
    assert page.url == done_url
    assert (await page.locator("#booking-code").inner_text()).strip() == code
    assert [status for _, status in await _bookings(db)] == ["confirmed"]


async def test_back_and_reload_after_cancelling(
    live_server: LiveServer, nojs_page: Page, db: AsyncSession
) -> None:
    seeded = await add_event(db, capacity=3)
    page = nojs_page
    requests = Requests(page)
    code = await book(page, live_server.base_url, seeded.event_id, seeded.session_ids[0], HANAKO)
    await look_up(page, live_server.base_url, code, HANAKO["phone"])
    details_url = page.url
    assert "/bookings/details?g=" in details_url
    assert code.replace("-", "") not in details_url and "2770" not in details_url
    await click(page, "この予約を取り消す")
    await click(page, "はい、予約を取り消します")
    assert await page.locator("h1").inner_text() == "予約を取り消しました"
    assert "/bookings/cancel/done?g=" in page.url

    requests.clear()
    await page.reload()
    requests.assert_no_post()
    assert await page.locator("h1").inner_text() == "予約を取り消しました"

    # Back from the cancel-done page: the question page, by GET, now the cancelled details.
    requests.clear()
    await page.go_back()
    requests.assert_no_post()
    assert "/bookings/cancel?g=" in page.url
    assert await page.locator("h1").inner_text() == "ご予約の内容"
    assert "取り消し済み" in await page.locator(".facts").inner_text()
    assert not await page.get_by_role("button", name="この予約を取り消す").count()

    # Back again: the look-up result, read afresh, says cancelled as well.
    requests.clear()
    await page.go_back()
    requests.assert_no_post()
    assert page.url == details_url
    assert "取り消し済み" in await page.locator(".facts").inner_text()
    assert [status for _, status in await _bookings(db)] == ["cancelled"]
