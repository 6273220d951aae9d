"""The public pages in headless Chromium with JavaScript off, as a person uses them: book a seat,
fix a bad phone number from the error summary, join the waiting list of a full session, cancel."""

from __future__ import annotations

import re

from playwright.async_api import Dialog, Page
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.models import Booking
from tests.browser.data import add_event, book_someone
from tests.browser.journeys import (
    HANAKO,
    book,
    booking_path,
    click,
    fill_booking_form,
    look_up,
    to_confirmation,
)
from tests.browser.live_server import LiveServer


async def booking_statuses(db: AsyncSession) -> list[tuple[str, str, int | None]]:
    db.expire_all()
    rows = await db.execute(
        select(Booking.phone, Booking.status, Booking.waitlist_position).order_by(Booking.id)
    )
    return [(r.phone, r.status, r.waitlist_position) for r in rows]


async def test_book_a_seat_end_to_end(
    live_server: LiveServer, nojs_page: Page, db: AsyncSession
) -> None:
    seeded = await add_event(db, title="介護のお仕事 面談会", capacity=3)
    page = nojs_page
    await page.goto(live_server.url("/"))
    await page.get_by_role("link", name="介護のお仕事 面談会", exact=True).click()
    await page.get_by_role("link", name="この日程で申し込む").first.click()
    assert await page.locator("h1").inner_text() == "お申し込み"
    assert "残り3席" in await page.locator(".session-box").inner_text()

    await to_confirmation(page, {**HANAKO, "email": "hanako@example.jp"})
    assert await page.locator("h1").inner_text() == "入力内容の確認"
    typed = await page.locator(".confirm-list").inner_text()
    # The reading shown as typed (hiragana); it is stored in katakana (checked below).
    assert "しずおか はなこ" in typed and "054-254-2770" in typed and "65〜69歳" in typed
    assert await booking_statuses(db) == []  # nothing booked before the last step

    await click(page, "この内容で申し込む")
    assert await page.locator("h1").inner_text() == "ご予約が確定しました"
    code = (await page.locator("#booking-code").inner_text()).strip()
    assert re.fullmatch(r"\d{4}-\d{4}-\d{4}", code), code
    body = await page.locator("main").inner_text()
    assert "確認のメールをお送りします" in body
    assert "静岡市役所 本館" in body
    calendar = page.get_by_role("link", name="カレンダーに登録", exact=True)
    href = await calendar.get_attribute("href")
    assert href and href.startswith(f"/bookings/{code.replace('-', '')}/calendar.ics?t=")
    ics = await page.request.get(live_server.url(href))
    assert ics.ok and "BEGIN:VCALENDAR" in await ics.text()
    assert await booking_statuses(db) == [("0542542770", "confirmed", None)]

    # Reloading the done page shows it again and books nothing more.
    await page.reload()
    assert (await page.locator("#booking-code").inner_text()).strip() == code
    assert len(await booking_statuses(db)) == 1
    await page.goto(live_server.url(f"/events/{seeded.event_id}"))
    assert "残り2席" in await page.locator(".session-card").inner_text()


async def test_error_summary_for_a_bad_phone_number_then_fixed(
    live_server: LiveServer, nojs_page: Page, db: AsyncSession
) -> None:
    seeded = await add_event(db)
    page = nojs_page
    await page.goto(live_server.url(booking_path(seeded.event_id, seeded.session_ids[0])))
    response = await to_confirmation(page, {**HANAKO, "phone": "054-254-27７O"})
    # Shown by a GET after the POST's 303: Back and Reload never post again.
    assert response is not None and response.request.method == "GET"
    posted = response.request.redirected_from
    assert posted is not None and posted.method == "POST"
    assert (await page.title()).startswith("【入力内容を確認してください】")

    summary = page.locator(".error-summary")
    assert await summary.is_visible()
    # The summary takes the focus without JavaScript (autofocus), so it is read out first.
    assert await page.evaluate("document.activeElement.classList.contains('error-summary')")
    link = summary.get_by_role("link")
    assert await link.count() == 1
    assert "電話番号は数字で入力してください（例：090-1234-5678）" in await link.inner_text()

    phone = page.locator("#phone")
    assert await phone.get_attribute("aria-invalid") == "true"
    assert "phone-error" in (await phone.get_attribute("aria-describedby") or "")
    error_next_to_field = page.locator(".field.has-error #phone-error")
    assert "電話番号は数字で" in await error_next_to_field.inner_text()
    # What was typed is kept, in every field.
    assert await phone.input_value() == "054-254-27７O"
    assert await page.locator("#name").input_value() == "静岡 花子"
    assert await page.locator("#age_band").input_value() == "65_69"

    await link.click()
    assert await page.evaluate("document.activeElement.id") == "phone"
    await phone.fill("054-254-2770")
    await click(page, "入力内容を確認する")
    assert await page.locator("h1").inner_text() == "入力内容の確認"
    await click(page, "入力内容を直す")
    assert await page.locator("#phone").input_value() == "0542542770"
    assert await page.locator("#name").input_value() == "静岡 花子"


async def test_waitlisted_on_a_full_session(
    live_server: LiveServer, nojs_page: Page, db: AsyncSession
) -> None:
    seeded = await add_event(db, title="満員の研修", capacity=1, waitlist_limit=3)
    await book_someone(db, seeded.session_ids[0], 1)
    page = nojs_page
    await page.goto(live_server.url("/"))
    assert "満席（キャンセル待ち受付中）" in await page.locator(".event-card").inner_text()
    await page.goto(live_server.url(f"/events/{seeded.event_id}"))
    await page.get_by_role("link", name="キャンセル待ちに申し込む").click()
    assert await page.locator("h1").inner_text() == "キャンセル待ちのお申し込み"
    assert "キャンセル待ちとしてのお申し込みになります" in await page.locator("main").inner_text()

    await to_confirmation(page, HANAKO)
    await click(page, "キャンセル待ちに申し込む")
    assert await page.locator("h1").inner_text() == "キャンセル待ちで受け付けました"
    next_steps = await page.locator(".notice-waitlist").inner_text()
    assert "1番目" in next_steps
    assert "まだ予約は確定していません" in next_steps
    assert "繰り上がって予約が確定します" in next_steps
    assert "メールアドレスのご入力がないため" in next_steps
    assert (await booking_statuses(db))[-1] == ("0542542770", "waitlisted", 1)


async def test_cancel_a_booking_with_a_confirmation_step(
    live_server: LiveServer, nojs_page: Page, db: AsyncSession
) -> None:
    seeded = await add_event(db, capacity=1, waitlist_limit=2)
    page = nojs_page
    code = await book(page, live_server.base_url, seeded.event_id, seeded.session_ids[0], HANAKO)
    waiting = await book_someone(db, seeded.session_ids[0], 7)
    assert waiting.status == "waitlisted"

    await look_up(page, live_server.base_url, code, "054-999-9999")
    assert "予約が見つかりませんでした" in await page.locator(".error-summary").inner_text()
    assert await page.locator("#code").input_value() == code

    # Full-width digits without the hyphens, as a Japanese keyboard types them.
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    full_width = code.replace("-", "").translate(wide)
    await look_up(page, live_server.base_url, full_width, "０５４２５４２７７０")
    assert await page.locator("h1").inner_text() == "ご予約の内容"
    assert "予約確定" in await page.locator(".facts").inner_text()
    await click(page, "この予約を取り消す")
    assert await page.locator("h1").inner_text() == "この予約を取り消しますか？"
    await click(page, "いいえ、取り消しません")
    assert await page.locator("h1").inner_text() == "ご予約の内容"
    assert (await booking_statuses(db))[0][1] == "confirmed"

    await click(page, "この予約を取り消す")
    await click(page, "はい、予約を取り消します")
    assert await page.locator("h1").inner_text() == "予約を取り消しました"
    # The seat went to the first person on the waiting list.
    assert [s for _, s, _ in await booking_statuses(db)] == ["cancelled", "confirmed"]


async def test_leave_the_waiting_list(
    live_server: LiveServer, nojs_page: Page, db: AsyncSession
) -> None:
    seeded = await add_event(db, capacity=1, waitlist_limit=2)
    await book_someone(db, seeded.session_ids[0], 1)
    page = nojs_page
    code = await book(page, live_server.base_url, seeded.event_id, seeded.session_ids[0], HANAKO)
    await look_up(page, live_server.base_url, code, HANAKO["phone"])
    assert "キャンセル待ち（1番目）" in await page.locator(".facts").inner_text()
    await click(page, "キャンセル待ちをやめる")
    await click(page, "はい、キャンセル待ちをやめます")
    assert await page.locator("h1").inner_text() == "キャンセル待ちをやめました"
    assert (await booking_statuses(db))[-1][1] == "cancelled"


async def test_a_script_in_a_name_shows_as_text(
    live_server: LiveServer, page: Page, db: AsyncSession
) -> None:
    """With JavaScript on, so that an injected script would run (and open a dialog)."""
    seeded = await add_event(db)
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    evil = "<script>alert(1)</script>"
    await page.goto(live_server.url(booking_path(seeded.event_id, seeded.session_ids[0])))
    await fill_booking_form(page, {**HANAKO, "name": evil})
    await click(page, "入力内容を確認する")
    assert evil in await page.locator(".confirm-list").inner_text()
    await click(page, "この内容で申し込む")
    code = (await page.locator("#booking-code").inner_text()).strip()
    await look_up(page, live_server.base_url, code, HANAKO["phone"])
    assert evil in await page.locator(".facts").inner_text()
    assert dialogs == []


async def test_phone_field_helps_older_hands(
    live_server: LiveServer, page: Page, db: AsyncSession
) -> None:
    seeded = await add_event(db)
    await page.goto(live_server.url(booking_path(seeded.event_id, seeded.session_ids[0])))
    phone = page.locator("#phone")
    assert await phone.get_attribute("type") == "tel"
    assert await phone.get_attribute("inputmode") == "tel"
    assert await phone.get_attribute("autocomplete") == "tel"
    assert await page.locator("#name").get_attribute("autocomplete") == "name"
    assert await page.locator("#email").get_attribute("autocomplete") == "email"
    for field in ("name", "name_kana", "phone", "email", "age_band", "ward", "heard_from"):
        assert await page.locator(f"label[for='{field}']").count() == 1, field
