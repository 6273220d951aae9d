"""People and the follow-up in a real Chromium: the public registration and the follow-up form
on a 390 px phone, and the staff person page on a 768 px tablet; axe-core at WCAG 2.2 A and AA
finds nothing, and nothing scrolls sideways."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.actor import Actor
from service.domain.bookings import service as bookings
from service.domain.followups import service as followups
from service.domain.people import service as people
from service.domain.people.validation import check_person
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import NewPage
from tests.browser.journeys import horizontal_overflow
from tests.browser.live_server import LiveServer
from tests.factories import make_session
from tests.manage_support import PASSWORD, make_staff, person


async def _checked(page: Page, label: str) -> None:
    await assert_accessible(page, label)
    assert await horizontal_overflow(page) == 0, f"{label}: sideways scrolling"


async def test_public_registration_on_a_phone(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession
) -> None:
    page = await new_page(width=390, height=844)
    await page.goto(live_server.url("/register"))
    await _checked(page, "registration form at 390px")
    await page.get_by_label("お名前").fill("駿河 花子")
    await page.get_by_label("ふりがな").fill("するが はなこ")
    await page.get_by_role("button", name="登録する").click()
    await expect(page.get_by_role("alert")).to_contain_text("電話番号")
    await expect(page.get_by_role("alert")).to_contain_text("同意")
    await _checked(page, "registration errors at 390px")
    assert await page.get_by_label("お名前").input_value() == "駿河 花子"
    await page.get_by_label("電話番号").fill("090-3333-4444")
    await page.get_by_label("郵便番号").fill("420-0853")
    await page.get_by_label("1番目").select_option("post")
    await page.get_by_label("上の「個人情報の取り扱い」に同意します（必須）").check()
    await page.get_by_role("button", name="登録する").click()
    await expect(page.get_by_role("heading", name="登録を受け付けました")).to_be_visible()
    await _checked(page, "registration done at 390px")
    row = (
        await db.execute(
            text("SELECT address, consent_privacy FROM persons WHERE phone = '09033334444'")
        )
    ).one()
    assert tuple(row) == ("静岡県静岡市葵区追手町", True)


async def _campaign_code(db: AsyncSession) -> str:
    staff = await make_staff(db, "organizer")
    s = await make_session(db)
    booked = await bookings.book(db, s.id, person(1))
    await db.execute(
        text("""
            UPDATE sessions SET starts_at = now() - interval '5 days',
                   ends_at = now() - interval '5 days' + interval '1 hour',
                   booking_opens_at = now() - interval '20 days',
                   booking_closes_at = now() - interval '6 days' WHERE id = :s
        """),
        {"s": s.id},
    )
    await db.execute(
        text("UPDATE bookings SET checked_in_at = now() - interval '5 days' WHERE id = :b"),
        {"b": booked.id},
    )
    await db.commit()
    today = clock.now().date()
    actor = Actor.of(staff)
    view = await followups.create(
        db,
        actor,
        {"title": "就業状況調査", "attended_from": today - timedelta(days=20),
         "attended_to": today},
    )  # fmt: skip
    await followups.send(db, actor, view.id)
    await db.commit()
    code = await db.scalar(text("SELECT short_code FROM follow_up_targets"))
    assert code
    return str(code)


async def test_follow_up_form_on_a_phone(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession
) -> None:
    code = await _campaign_code(db)
    page = await new_page(width=390, height=844)
    await page.goto(live_server.url(f"/f/{code}"))
    await expect(page.get_by_role("heading", name="就業状況のおたずね")).to_be_visible()
    await _checked(page, "follow-up form at 390px")
    await page.get_by_role("button", name="送る").click()
    await expect(page.get_by_role("alert")).to_contain_text("就業状況を選んでください")
    await _checked(page, "follow-up form errors at 390px")
    await page.get_by_label("就職した").check()
    await page.get_by_label("勤務先").fill("清水介護サービス")
    await page.get_by_label("働き方").select_option("part_time")
    await page.get_by_role("button", name="送る").click()
    await expect(page.get_by_role("heading", name="ご回答ありがとうございました")).to_be_visible()
    await _checked(page, "follow-up thanks at 390px")
    assert await db.scalar(text("SELECT employer FROM follow_up_answers")) == "清水介護サービス"


async def test_person_page_on_a_tablet(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession
) -> None:
    staff = await make_staff(db, "organizer")
    registered = await people.create(
        db,
        check_person(
            {"name": "駿河 花子", "name_kana": "するが はなこ", "phone": "0542541111",
             "email": "hanako@example.jp", "postal_code": "4200853", "ward": "aoi",
             "birth_year": "1958", "contact_by": ["mail", "post"], "interests": ["care"]}
        ),
        via="desk",
        consent_privacy=True,
        consent_news=True,
    )  # fmt: skip
    s = await make_session(db)
    await bookings.book(
        db, s.id, person(9, name="駿河 花子", phone="0542541111", name_kana="スルガ ハナコ")
    )
    # A probable duplicate: same kana and birth year, another phone.
    await people.create(
        db,
        check_person({"name": "駿河 花子", "name_kana": "スルガ ハナコ", "phone": "09012121212",
                      "birth_year": "1958"}),
        via="phone",
        consent_privacy=True,
        consent_news=False,
    )  # fmt: skip
    await db.commit()
    page = await new_page(width=768, height=1024)
    await page.goto(live_server.url(f"/manage/people/{registered.id}"))
    await page.get_by_label("ユーザー名").fill(staff.username)
    await page.get_by_label("パスワード").fill(PASSWORD)
    await page.get_by_role("button", name="ログイン").click()
    await page.wait_for_load_state()
    await page.goto(live_server.url(f"/manage/people/{registered.id}"))
    await expect(page.get_by_role("heading", name="駿河 花子 （スルガ ハナコ）")).to_be_visible()
    await expect(page.get_by_role("heading", name="同じ人かもしれない登録")).to_be_visible()
    await _checked(page, "person page at 768px")
    # Withdrawal is not beside the everyday 「登録内容の変更」: its own section at the end.
    details = page.locator("section", has=page.get_by_role("heading", name="登録内容"))
    assert await details.get_by_role("link", name="同意の取り消し", exact=False).count() == 0
    last = page.locator("main section").last
    await expect(last.get_by_role("heading", name="同意の取り消し")).to_be_visible()
    await expect(last.get_by_role("link", name="同意の取り消し", exact=False)).to_be_visible()
    # The booking code in the table at the table's own size (not the public page's big code).
    size = await page.locator("td.code").first.evaluate("e => getComputedStyle(e).fontSize")
    assert float(size.removesuffix("px")) <= 20, size
    # 「この方の相談・就業を記録」: the record form, filled for her, the link kept or let go.
    await page.get_by_role("link", name="この方の相談・就業を記録").click()
    await page.wait_for_load_state()
    await expect(page.get_by_role("radio", name="駿河 花子", exact=False)).to_be_checked()
    await _checked(page, "record form for a person at 768px")
    await page.get_by_label("相談の方法（相談のとき）").select_option("desk")
    await page.get_by_role("button", name="追加する").click()
    await expect(page.get_by_role("status")).to_be_visible()
    await page.goto(live_server.url(f"/manage/people/{registered.id}"))
    history = page.locator("section", has=page.get_by_role("heading", name="履歴"))
    await expect(history.get_by_role("cell", name="相談", exact=True)).to_be_visible()
    await page.get_by_role("link", name="この方に統合する…").click()
    await _checked(page, "merge question at 768px")
    await page.get_by_role("button", name="統合する").click()
    await expect(page.get_by_role("status")).to_contain_text("統合しました")
    await _checked(page, "person page after merge at 768px")
    await page.goto(live_server.url("/manage/people/new"))
    await _checked(page, "desk registration form at 768px")


async def test_follow_up_console_pages_on_a_tablet(
    live_server: LiveServer, new_page: NewPage, db: AsyncSession
) -> None:
    await _campaign_code(db)
    staff = await make_staff(db, "organizer")
    campaign_id = await db.scalar(text("SELECT id FROM follow_up_campaigns"))
    page = await new_page(width=768, height=1024)
    await page.goto(live_server.url("/manage/follow-ups"))
    await page.get_by_label("ユーザー名").fill(staff.username)
    await page.get_by_label("パスワード").fill(PASSWORD)
    await page.get_by_role("button", name="ログイン").click()
    await page.wait_for_load_state()
    await page.goto(live_server.url("/manage/follow-ups"))
    await _checked(page, "campaigns at 768px")
    await page.goto(live_server.url(f"/manage/follow-ups/{campaign_id}"))
    await expect(page.get_by_role("heading", name="電話でおたずねする方")).to_be_visible()
    await _checked(page, "campaign page at 768px")
    await page.goto(live_server.url("/manage/people"))
    await _checked(page, "people search at 768px")
