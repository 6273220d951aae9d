"""The organizer console in a real Chromium: login, an organizer's whole day (event with two
sessions, publish, phone booking, check-in, CSV export), and check-in on a tablet."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from playwright.async_api import Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.platform.local_time import TOKYO
from tests.browser.a11y import assert_accessible
from tests.browser.console_tour import ROSTER_SIZE, seed_console
from tests.browser.live_server import LiveServer
from tests.factories import make_org, make_session, make_venue
from tests.manage_support import PASSWORD, make_staff, move_session, person


def _local(days: int, hour: int) -> str:
    day = datetime.now(TOKYO) + timedelta(days=days)
    return day.replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M")


async def _log_in(
    page: Page, live_server: LiveServer, username: str, path: str = "/manage"
) -> None:
    await page.goto(live_server.url(path))
    await expect(page.get_by_role("heading", name="スタッフログイン")).to_be_visible()
    await page.get_by_label("ユーザー名").fill(username)
    await page.get_by_label("パスワード").fill(PASSWORD)
    await page.get_by_role("button", name="ログイン").click()


async def test_login_failure_success_and_logout(
    live_server: LiveServer, page: Page, db: AsyncSession
) -> None:
    await make_staff(db, "organizer", username="aoki")
    await page.goto(live_server.url("/manage"))
    assert page.url.startswith(live_server.url("/manage/login"))
    await assert_accessible(page, "login")
    await page.get_by_label("ユーザー名").fill("aoki")
    await page.get_by_label("パスワード").fill("wrong password")
    await page.get_by_role("button", name="ログイン").click()
    await expect(page.get_by_role("alert")).to_contain_text("ユーザー名またはパスワードが違います")

    await page.get_by_label("パスワード").fill(PASSWORD)
    await page.get_by_role("button", name="ログイン").click()
    await expect(page.get_by_role("heading", name="イベント一覧")).to_be_visible()
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["nw_staff"]["httpOnly"] and cookies["nw_staff"]["sameSite"] == "Lax"
    await assert_accessible(page, "event list")

    await page.get_by_role("button", name="ログアウト").click()
    await expect(page.get_by_role("status")).to_contain_text("ログアウトしました")
    await page.goto(live_server.url("/manage"))
    assert page.url.startswith(live_server.url("/manage/login"))


async def test_an_organizer_runs_an_event_from_the_console(
    live_server: LiveServer, page: Page, db: AsyncSession
) -> None:
    """The whole 'done when': create an event with two sessions, publish it, take a phone
    booking, check someone in, export the roster."""
    await make_org(db, "NEXTワークしずおか", kind="organizer")
    await make_org(db, "ハローワーク静岡", kind="cohost")
    venue = await make_venue(db)
    await db.commit()
    await make_staff(db, "organizer", username="aoki")
    await _log_in(page, live_server, "aoki")

    await page.get_by_role("link", name="イベントを作成").first.click()
    await page.get_by_label("イベント名").fill("お仕事面談会（介護のお仕事）")
    await page.get_by_label("種類").select_option("job_fair")
    await page.get_by_label("分野").select_option("care")
    await page.get_by_label("ハローワーク静岡").check()
    await page.get_by_role("button", name="作成する（下書き）").click()
    await expect(page.get_by_role("status")).to_contain_text("イベントを作成しました")
    await assert_accessible(page, "new event")

    for days in (7, 8):
        await page.get_by_role("link", name="回（日程）を追加").click()
        await page.get_by_label("会場").select_option(str(venue.id))
        await page.get_by_label("開始日時（必須）").fill(_local(days, 13))
        await page.get_by_label("終了日時（必須）").fill(_local(days, 15))
        await page.get_by_label("定員（必須）").fill("２")  # full-width, as typed in Japanese
        await page.get_by_label("キャンセル待ちの上限").fill("2")
        await page.get_by_role("button", name="追加する").click()
        await expect(page.get_by_role("status")).to_contain_text("回（日程）を追加しました")
    await expect(page.get_by_role("link", name="名簿・受付")).to_have_count(2)

    await page.get_by_role("button", name="公開する").click()
    await expect(page.get_by_role("status")).to_contain_text("イベントを公開しました")

    # A phone call: the desk books for the caller and reads the code back.
    await page.get_by_role("link", name="名簿・受付").first.click()
    await page.get_by_role("link", name="電話予約を入力").click()
    await page.get_by_label("お名前").fill("静岡 花子")
    await page.locator("#name_kana").fill("しずおか はなこ")
    await page.get_by_label("電話番号").fill("０９０－１２３４－５６７８")
    await page.get_by_label("年代").select_option("70_74")
    await page.get_by_role("button", name="予約を登録する").click()
    await expect(page.get_by_role("status")).to_contain_text("電話予約を登録しました")
    code = await db.scalar(text("SELECT code FROM bookings WHERE channel = 'phone'"))
    await expect(page.locator("#booking-code")).to_have_text(f"{code[:4]}-{code[4:8]}-{code[8:]}")
    await assert_accessible(page, "booking")

    # The day comes: check her in at the door.
    session_id = await db.scalar(
        text("SELECT session_id FROM bookings WHERE code = :c"), {"c": code}
    )
    await move_session(db, session_id, starts_in=timedelta(seconds=-1))
    await page.get_by_role("link", name="名簿に戻る").click()
    await page.get_by_role("button", name="静岡 花子さんを受付する").click()
    await expect(page.get_by_role("status")).to_contain_text("受付しました")
    await expect(page.get_by_text("✓ 受付済")).to_be_visible()

    async with page.expect_download() as info:
        await page.get_by_role("link", name="CSVで書き出す").click()
    download = await info.value
    path = await download.path()
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[1][3:6] == ["静岡 花子", "シズオカ ハナコ", "090-1234-5678"]
    assert rows[1][10] == "電話" and rows[1][12]  # channel, checked in
    actions = set(await db.scalars(text("SELECT action FROM audit_log")))
    assert {"event.create", "session.create", "event.publish", "booking.phone"} <= actions
    assert {"booking.check_in", "roster.view", "roster.export"} <= actions


async def test_check_in_and_undo_on_a_tablet(
    live_server: LiveServer, new_page: Any, db: AsyncSession
) -> None:
    s = await make_session(db, capacity=3, waitlist_limit=1)
    for n, (name, kana) in enumerate(
        [("山田 太郎", "ヤマダ タロウ"), ("青木 花子", "アオキ ハナコ")]
    ):
        await bookings.book(db, s.id, person(n, name=name, name_kana=kana))
    await db.commit()
    await move_session(db, s.id, starts_in=timedelta(seconds=-1))
    await make_staff(db, "organizer", username="door")
    page = await new_page(width=768, height=1024)
    await _log_in(page, live_server, "door", f"/manage/sessions/{s.id}")
    await expect(page.get_by_role("heading", name="予約確定（2人）")).to_be_visible()
    await assert_accessible(page, "roster on a tablet")

    button = page.get_by_role("button", name="山田 太郎さんを受付する")
    box = await button.bounding_box()
    assert box and box["height"] >= 48 and box["width"] >= 48  # a finger, not a mouse
    await button.click()
    await expect(page.get_by_role("status")).to_contain_text("受付しました")
    row = page.locator("li", has_text="山田 太郎")
    await expect(row.get_by_text("✓ 受付済")).to_be_visible()
    await expect(page.get_by_role("button", name="青木 花子さんを受付する")).to_be_visible()

    await row.get_by_role("button", name="山田 太郎さんの受付を取り消す").click()
    await expect(page.get_by_role("status")).to_contain_text("受付を取り消しました")
    await expect(page.get_by_role("button", name="山田 太郎さんを受付する")).to_be_visible()

    # Search by reading in hiragana, as typed on a tablet keyboard.
    await page.get_by_label("名前・ふりがな・電話番号で探す").fill("あおき")
    await page.get_by_role("button", name="探す").click()
    await expect(page.get_by_role("heading", name="予約確定（1人）")).to_be_visible()
    await expect(page.get_by_text("青木 花子")).to_be_visible()


async def test_a_roster_of_40_fits_two_tablet_screens(
    live_server: LiveServer, new_page: Any, db: AsyncSession
) -> None:
    """At the door, on a 768x1024 tablet: the kana search is on the first screen, all 40
    people are within two screen heights, one tap checks in and one tap undoes, and the
    booking code is small print beside the name, not the public pages' display size."""
    data = await seed_console(db)
    page = await new_page(width=768, height=1024)
    await _log_in(page, live_server, data.username, f"/manage/sessions/{data.session_id}")
    await expect(page.get_by_role("heading", name=f"予約確定（{ROSTER_SIZE}人）")).to_be_visible()
    rows = page.locator(".checkin-list > li")
    await expect(rows).to_have_count(ROSTER_SIZE)

    search = await page.get_by_label("名前・ふりがな・電話番号で探す").bounding_box()
    assert search and search["y"] + search["height"] <= 1024
    bottom = await page.evaluate(
        "() => document.querySelector('.checkin-list').getBoundingClientRect().bottom"
        " + window.scrollY"
    )
    assert bottom <= 2 * 1024, f"the list of {ROSTER_SIZE} ends at {bottom}px"
    sizes = await page.evaluate(
        """() => [...document.querySelectorAll('.checkin-list > li')].map(li => [
            parseFloat(getComputedStyle(li.querySelector('.name')).fontSize),
            parseFloat(getComputedStyle(li.querySelector('.roster-code')).fontSize)])"""
    )
    assert all(code < name for name, code in sizes), sizes
    assert await page.locator("main .code").count() == 0  # the public style does not leak

    name = "木村 花子"
    await page.get_by_role("button", name=f"{name}さんを受付する").click()
    await expect(page.get_by_role("status")).to_contain_text("受付しました")
    await expect(page.locator("li", has_text=name).get_by_text("✓ 受付済")).to_be_visible()
    await page.get_by_role("button", name=f"{name}さんの受付を取り消す").click()
    await expect(page.get_by_role("status")).to_contain_text("受付を取り消しました")

    await page.get_by_label("名前・ふりがな・電話番号で探す").fill("きむら")
    await page.get_by_role("button", name="探す").click()
    await expect(rows).to_have_count(ROSTER_SIZE // 10)
    await expect(page.get_by_role("button", name=f"{name}さんを受付する")).to_be_visible()
