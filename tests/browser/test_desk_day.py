"""The desk's day and the senior's done page in a real Chromium, at a phone's, two tablets' and a
desktop's width (390, 768, 1024, 1280):

- the call list: the number to dial on one line as a tel: link in a large font, the name with
  its kana, the script a paragraph, the outcome buttons apart; one call at most 400px tall at
  768 (measured, not looked at);
- the warning before a session is moved: who is told, and how, before anything is saved;
- the done page shows the booking as it is now (waiting, promoted, cancelled), names the party,
  and after its grant has run out shows the look-up form with the code filled in;
- people without e-mail are told the desk will phone them (done page, /privacy)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect
from redis import asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.platform.settings import Settings
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import NewPage
from tests.browser.console_tour import CALLERS, _later, seed_calls
from tests.browser.data import add_event, book_someone
from tests.browser.journeys import HANAKO, book, click, fill_booking_form, horizontal_overflow
from tests.browser.live_server import LiveServer
from tests.factories import make_session
from tests.manage_support import PASSWORD, make_staff, move_session

WIDTHS = (390, 768, 1024, 1280)


async def _log_in(page: Page, live_server: LiveServer, username: str) -> None:
    await page.goto(live_server.url("/manage/login"))
    await page.locator("#username").fill(username)
    await page.locator("#password").fill(PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="ログイン").click()


_MEASURE_CALLS = """
() => [...document.querySelectorAll('.call')].map(call => {
  const phone = call.querySelector('.call-phone');
  const style = getComputedStyle(phone);
  const script = call.querySelector('.call-script');
  const outcomes = '.call-actions button, .call-actions a.button';
  const buttons = [...call.querySelectorAll(outcomes)].map(b => {
    const r = b.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, text: b.innerText};
  });
  return {
    height: call.getBoundingClientRect().height,
    phoneHref: phone.getAttribute('href'),
    phoneText: phone.innerText,
    phoneHeight: phone.getBoundingClientRect().height,
    phoneLines: phone.getClientRects().length,
    phoneFont: parseFloat(style.fontSize),
    codeLines: call.querySelector('.roster-code').getClientRects().length,
    lineHeight: parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.6,
    name: call.querySelector('.call-name').innerText,
    scriptWidth: script.getBoundingClientRect().width,
    scriptFont: parseFloat(getComputedStyle(script).fontSize),
    buttons,
  };
})
"""


def _gap(a: dict[str, float], b: dict[str, float]) -> float:
    """The distance between two boxes (0 when they touch or overlap)."""
    dx = max(b["left"] - a["right"], a["left"] - b["right"], 0)
    dy = max(b["top"] - a["bottom"], a["top"] - b["bottom"], 0)
    return max(dx, dy)


async def test_the_call_list_can_be_dialled_from_a_tablet(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession
) -> None:
    # A title long enough that, at 768, the booking code comes to the end of a line.
    title = "シニア向け就職相談会 in 清水区（出張相談会）"
    seeded = await add_event(db, title=title, days_ahead=(2,), capacity=15)  # 10:00-12:00
    await seed_calls(db, seeded.session_ids[0])
    await make_staff(db, "organizer", username="desk")
    figures: dict[int, list[dict[str, Any]]] = {}
    for width in WIDTHS:
        page = await new_page(width=width, height=1024)
        await _log_in(page, live_server, "desk")
        await page.goto(live_server.url("/manage/calls"))
        calls: list[dict[str, Any]] = await page.evaluate(_MEASURE_CALLS)
        figures[width] = calls
        assert len(calls) == len(CALLERS)
        assert await horizontal_overflow(page) == 0, width
        for call in calls:
            # The number: one line, a tel: link of its digits, large.
            assert call["phoneLines"] == 1, (width, call)
            assert call["phoneHeight"] < 1.5 * call["lineHeight"], (width, call)
            assert call["phoneHref"].startswith("tel:0"), call
            assert call["phoneHref"][4:].isdigit(), call
            assert call["phoneFont"] >= 26, (width, call["phoneFont"])
            # The booking code read out to the person: one line, not broken at a hyphen.
            assert call["codeLines"] == 1, (width, call)
            # The name with its kana.
            assert "（" in call["name"] and "）" in call["name"], call["name"]
            # The script: a paragraph, not a column of three characters.
            assert call["scriptWidth"] >= 14 * call["scriptFont"], (width, call["scriptWidth"])
            # Outcome buttons apart from each other (12px at least), each a big target (辞退 is a
            # link to its question page, styled as a button).
            buttons = call["buttons"]
            assert [b["text"] for b in buttons] == ["連絡済", "不在（再度）", "辞退"]
            for i, a in enumerate(buttons):
                assert a["bottom"] - a["top"] >= 48
                for b in buttons[i + 1 :]:
                    assert _gap(a, b) >= 12, (width, a, b)
            if width == 768:
                assert call["height"] <= 400, call
        shown = await page.locator(".call-phone").all_inner_texts()
        assert shown[0] == CALLERS[0][2]
        changed = page.locator(".call", has_text=CALLERS[1][0]).locator(".call-script")
        await expect(changed).to_contain_text("9:30〜11:30から")
        await expect(changed).to_contain_text("10:00〜12:00に変わりました")
        await assert_accessible(page, f"calls at {width}")
    # At 1024 the person sits beside the script: a call is shorter than at 768.
    assert max(c["height"] for c in figures[1024]) <= max(c["height"] for c in figures[768])
    print("call heights (px):", {w: [round(c["height"]) for c in f] for w, f in figures.items()})


async def test_moving_a_booked_session_says_who_is_told_before_saving(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession
) -> None:
    session = await make_session(db, capacity=15)
    await seed_calls(db, session.id)  # three bookings without e-mail
    await make_staff(db, "organizer", username="desk")
    for n, width in enumerate(WIDTHS):
        page = await new_page(width=width, height=900)
        await _log_in(page, live_server, "desk")
        await page.goto(live_server.url(f"/manage/sessions/{session.id}/edit"))
        starts, ends = page.locator("#starts_at"), page.locator("#ends_at")
        before = await starts.input_value()
        await starts.fill(_later(before))
        await ends.fill(_later(await ends.input_value()))
        async with page.expect_navigation():
            await page.get_by_role("button", name="保存する").click()
        warning = page.get_by_role("alert")
        await expect(warning).to_contain_text("3名に電話連絡が必要になります")
        await expect(page.locator(".change-table")).to_contain_text("日時")
        assert await horizontal_overflow(page) == 0, width
        await assert_accessible(page, f"change warning at {width}")
        if n < len(WIDTHS) - 1:
            async with page.expect_navigation():
                await page.get_by_role("button", name="戻って直す").click()
            await expect(page.locator("#starts_at")).to_have_value(_later(before))
            continue
        async with page.expect_navigation():
            await page.get_by_role("button", name="変更してお知らせする").click()
        await expect(page.get_by_role("status")).to_contain_text("保存しました")
    await db.rollback()
    moved = await db.scalar(
        text("SELECT count(*) FROM notifications WHERE kind = 'session_changed'")
    )
    assert moved == 3  # saved once, at the last width only


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_done_page_shows_the_booking_as_it_is_now(
    live_server: LiveServer,
    new_page: NewPage,
    db: AsyncSession,
    settings: Settings,
    width: int,
) -> None:
    seeded = await add_event(db, capacity=2, waitlist_limit=3)
    sid = seeded.session_ids[0]
    first, second = await book_someone(db, sid, 1), await book_someone(db, sid, 2)
    page = await new_page(width=width, height=900)
    # A couple without e-mail, on the waiting list.
    couple = {**HANAKO, "name": "駿河 和子", "name_kana": "するが かずこ"}
    await page.goto(live_server.url(f"/events/{seeded.event_id}/sessions/{sid}/book"))
    await fill_booking_form(page, couple)
    await page.locator("[id='companions.0.name']").fill("駿河 一郎")
    await page.locator("[id='companions.0.name_kana']").fill("するが いちろう")
    await click(page, "入力内容を確認する")
    await click(page, "キャンセル待ちに申し込む")
    code = (await page.locator("#booking-code").inner_text()).strip()
    await expect(page.locator("h1")).to_have_text("キャンセル待ちで受け付けました")
    await expect(page.locator("#party")).to_have_text("2名：駿河 和子様、駿河 一郎様")
    await expect(page.locator("main")).to_contain_text(
        "席が空いたら、窓口からお電話でお知らせします"
    )
    await assert_accessible(page, f"done, waiting, at {width}")
    assert await horizontal_overflow(page) == 0

    # Two seats free up (the party moves up whole): the same address now says it is confirmed.
    await bookings.cancel_booking(db, first.code, first.phone)
    await db.commit()
    await page.reload()
    # One seat is not enough for the two: still waiting, first in line, nothing new to say.
    await expect(page.locator("h1")).to_have_text("キャンセル待ちで受け付けました")
    await expect(page.locator(".notice-waitlist")).to_contain_text("1番目")
    await expect(page.locator("#current-state")).to_have_count(0)
    await bookings.cancel_booking(db, second.code, second.phone)
    await db.commit()
    await page.reload()
    await expect(page.locator("h1")).to_have_text("繰り上がって、ご予約が確定しました")
    await expect(page.locator("#current-state")).to_contain_text("繰り上がって")
    await assert_accessible(page, f"done, promoted, at {width}")

    # Cancelled at the desk: the page says so, and offers nothing to cancel.
    await bookings.cancel_booking(db, code, HANAKO["phone"])
    await db.commit()
    await page.reload()
    await expect(page.locator("h1")).to_have_text("このご予約は取り消されています")
    await expect(page.locator("main .button", has_text="予約の確認・取り消し")).to_have_count(0)

    # The grant has run out: the look-up form, the code filled in.
    redis = aioredis.from_url(settings.redis_url)
    try:
        await redis.delete(*await redis.keys("page:grant:*"))
    finally:
        await redis.aclose()
    await page.reload()
    await expect(page.locator("h1")).to_have_text("予約の確認・取り消し")
    await expect(page.locator("#code")).to_have_value(code)
    await expect(page.get_by_role("status")).to_contain_text("電話番号を入力すると")
    await assert_accessible(page, f"done, expired, at {width}")
    await page.locator("#phone").fill(HANAKO["phone"])
    await click(page, "予約を確認する")
    await expect(page.locator("main")).to_contain_text("取り消し")


async def test_without_javascript_the_print_button_is_not_shown(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession
) -> None:
    seeded = await add_event(db)
    for js in (False, True):
        page = await new_page(width=390, height=844, java_script_enabled=js)
        await book(page, live_server.base_url, seeded.event_id, seeded.session_ids[0], HANAKO)
        button = page.get_by_role("button", name="この画面を印刷する")
        if js:
            await expect(button).to_be_visible()
        else:
            await expect(button).to_be_hidden()
        await bookings.cancel_booking(
            db, (await page.locator("#booking-code").inner_text()).strip(), HANAKO["phone"]
        )
        await db.commit()


@pytest.mark.parametrize("width", WIDTHS)
async def test_privacy_says_who_is_phoned_and_what_is_kept(
    live_server: LiveServer, new_page: NewPage, width: int
) -> None:
    page = await new_page(width=width, height=900)
    await page.goto(live_server.url("/privacy"))
    main = page.locator("main")
    for words in ("配慮事項", "同伴者", "窓口からお電話でお知らせします"):
        await expect(main).to_contain_text(words)
    assert await horizontal_overflow(page) == 0
    await assert_accessible(page, f"privacy at {width}")


async def test_session_states_stay_on_one_line_on_the_event_page(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession
) -> None:
    seeded = await add_event(db, days_ahead=(3, 10), capacity=40)
    await book_someone(db, seeded.session_ids[0], 1)
    await move_session(db, seeded.session_ids[0], starts_in=timedelta(days=-2))
    await make_staff(db, "organizer", username="desk")
    for width in (768, 1024, 1280):
        page = await new_page(width=width, height=900)
        await _log_in(page, live_server, "desk")
        await page.goto(live_server.url(f"/manage/events/{seeded.event_id}"))
        badges = page.locator("td[data-label='状態'] .badge")
        assert await badges.all_inner_texts() == ["終了", "予定"]
        for box in await badges.evaluate_all(
            "els => els.map(e => [e.getClientRects().length, e.getBoundingClientRect().height,"
            " parseFloat(getComputedStyle(e).fontSize)])"
        ):
            lines, height, font = box
            assert lines == 1 and height < 2 * font, (width, box)
        ended = page.locator(f"#s{seeded.session_ids[0]}")
        await expect(ended.get_by_role("link", name="中止")).to_have_count(0)
        await assert_accessible(page, f"event page at {width}")
