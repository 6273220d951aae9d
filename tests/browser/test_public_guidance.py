"""What older users stumbled on (issue 12), in a real Chromium: the first event on a phone's
first screen, the privacy and accessibility pages linked from every footer and the booking form,
and the done page's print button, calendar links and cancellation deadline."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from tests.browser.conftest import NewPage
from tests.browser.data import add_event
from tests.browser.journeys import HANAKO, book, booking_path, look_up
from tests.browser.live_server import LiveServer


async def test_first_event_is_on_the_first_screen_of_a_phone(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession
) -> None:
    await add_event(db, title="介護のお仕事 面談会")
    await add_event(db, title="警備のお仕事 説明会", sector="security")
    page = await new_page(width=390, height=844)
    await page.goto(live_server.url("/"))
    card = await page.locator(".event-card").first.bounding_box()
    assert card and card["y"] + 120 <= 844, f"the first event starts at {card}"
    # The phone number and the filters are still on that screen.
    for found in (page.locator(".call-line a"), page.get_by_text("条件をしぼって探す")):
        box = await found.bounding_box()
        assert box and box["y"] + box["height"] <= 844
    await page.get_by_text("条件をしぼって探す").click()
    await page.get_by_label("分野", exact=True).select_option("security")
    await page.get_by_role("button", name="この条件で探す").click()
    await page.wait_for_url("**/?sector=security**")
    assert await page.locator(".event-card").count() == 1
    assert await page.locator("details.filters[open]").count() == 1  # stays open when used


async def _footer_links(page: Page) -> set[str]:
    links = page.locator(".site-footer a")
    return {await links.nth(i).get_attribute("href") or "" for i in range(await links.count())}


async def test_privacy_and_accessibility_pages_from_every_footer_and_the_form(
    live_server: LiveServer, page: Page, db: AsyncSession
) -> None:
    seeded = await add_event(db)
    for path in ("/", f"/events/{seeded.event_id}", "/bookings/lookup", "/nothing-here"):
        await page.goto(live_server.url(path))
        assert {"/privacy", "/accessibility"} <= await _footer_links(page), path
    await page.goto(live_server.url(booking_path(seeded.event_id, seeded.session_ids[0])))
    await page.locator("form").get_by_role("link", name="個人情報の取り扱い").click()
    assert await page.locator("h1").inner_text() == "個人情報の取り扱い"
    for heading in ("お預かりする情報", "使う目的", "見ることができる人", "保管する期間"):
        assert await page.get_by_role("heading", name=heading).count() == 1
    assert "削除" in await page.locator("main").inner_text()
    response = await page.goto(live_server.url("/accessibility"))
    assert response and response.status == 200
    text = await page.locator("main").inner_text()
    assert "JIS X 8341-3:2016" in text and "AA" in text and "試験の方法" in text


async def test_done_page_prints_offers_calendars_and_says_until_when_to_cancel(
    live_server: LiveServer, page: Page, db: AsyncSession
) -> None:
    seeded = await add_event(db, title="介護のお仕事 面談会")
    await page.goto(live_server.url(f"/events/{seeded.event_id}"))
    map_link = page.get_by_role("link", name="地図を見る")
    query = parse_qs(urlsplit(await map_link.first.get_attribute("href") or "").query)
    assert query["query"] == ["静岡市葵区追手町5-1"]
    assert "取り消し" in await page.locator(".session-card").first.inner_text()
    facts = await page.locator(".event-facts").inner_text()
    assert "参加費" in facts and "無料" in facts and "対象" in facts

    code = await book(page, live_server.base_url, seeded.event_id, seeded.session_ids[0], HANAKO)
    done_url = page.url
    main = await page.locator("main").inner_text()
    assert "（開始時刻）まで" in main and "できます" in main
    button = page.get_by_role("button", name="この画面を印刷する")
    assert await button.is_visible()
    await page.evaluate("() => { window.print = () => { window.printed = true; }; }")
    await button.click()
    assert await page.evaluate("() => window.printed === true")

    ics = page.get_by_role("link", name="カレンダーに登録", exact=True)
    assert "/calendar.ics?t=" in (await ics.get_attribute("href") or "")
    google = await page.get_by_role("link", name="Google カレンダーに登録").get_attribute("href")
    assert google and google.startswith("https://calendar.google.com/calendar/render?")
    params = parse_qs(urlsplit(google).query)
    assert params["text"] == ["介護のお仕事 面談会"] and params["action"] == ["TEMPLATE"]
    for personal in (HANAKO["name"], "2770", code, code.replace("-", "")):
        assert personal not in google  # nothing about the person, not even the code

    # The look-up page offers the same, and says until when.
    await look_up(page, live_server.base_url, code, HANAKO["phone"])
    assert "（開始時刻）までできます" in await page.locator("main").inner_text()
    again = await page.get_by_role("link", name="Google カレンダーに登録").get_attribute("href")
    assert again == google
    await page.goto(done_url)

    # Printing leaves out the menus and buttons.
    await page.emulate_media(media="print")
    assert not await page.get_by_role("button", name="この画面を印刷する").is_visible()
    assert not await page.locator(".site-nav").is_visible()
    assert await page.locator("#booking-code").is_visible()
