"""People and the follow-up for `make screenshots`: the public registration, 「わたしの予約」
(/my, then the person's bookings and settings) and the follow-up form on a 390 px phone, and
the staff person page (with a probable duplicate) on a 768 px tablet."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from playwright.async_api import Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.actor import Actor
from service.domain.bookings import service as bookings
from service.domain.bookings.normalize import format_code
from service.domain.followups import service as followups
from service.domain.people import service as people
from service.domain.people.validation import check_person
from tests.factories import make_event, make_session
from tests.manage_support import PASSWORD, make_staff, person

Stop = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class PeopleData:
    username: str
    person_id: int  # registered at the desk, with a booking and a probable duplicate
    phone: str  # as the person types it
    code: str  # one of their bookings, as printed
    follow_up_code: str  # the short code of a follow-up question to them


async def seed_people(db: AsyncSession) -> PeopleData:
    staff = await make_staff(db, "organizer", username="people-organizer")
    registered = await people.create(
        db,
        check_person(
            {"name": "駿河 花子", "name_kana": "するが はなこ", "phone": "0542541111",
             "phone_alt": "09087654321", "email": "hanako.suruga@example.jp",
             "postal_code": "4200853", "ward": "aoi", "birth_year": "1958",
             "contact_by": ["mail", "post"], "interests": ["care"]}
        ),
        via="desk",
        consent_privacy=True,
        consent_news=True,
    )  # fmt: skip
    event = await make_event(db, title="シニアのためのお仕事説明会（介護・福祉）")
    coming = await make_session(db, event=event, starts_in=timedelta(days=9))
    booked = await bookings.book(
        db,
        coming.id,
        person(9, name="駿河 花子", phone="0542541111", name_kana="スルガ ハナコ"),
    )
    # A probable duplicate: same reading and birth year, another phone.
    await people.create(
        db,
        check_person({"name": "駿河 花子", "name_kana": "スルガ ハナコ", "phone": "09012121212",
                      "birth_year": "1958"}),
        via="phone",
        consent_privacy=True,
        consent_news=False,
    )  # fmt: skip
    # A session five days ago she attended: the follow-up asks whether she found work.
    past = await make_session(db, event=event)
    attended = await bookings.book(
        db, past.id, person(9, name="駿河 花子", phone="0542541111", name_kana="スルガ ハナコ")
    )
    await db.execute(
        text("""
            UPDATE sessions SET starts_at = now() - interval '5 days',
                   ends_at = now() - interval '5 days' + interval '2 hours',
                   booking_opens_at = now() - interval '20 days',
                   booking_closes_at = now() - interval '6 days' WHERE id = :s
        """),
        {"s": past.id},
    )
    await db.execute(
        text("UPDATE bookings SET checked_in_at = now() - interval '5 days' WHERE id = :b"),
        {"b": attended.id},
    )
    await db.commit()
    today = clock.now().date()
    actor = Actor.of(staff)
    campaign = await followups.create(
        db,
        actor,
        {"title": "就業状況調査", "attended_from": today - timedelta(days=20),
         "attended_to": today},
    )  # fmt: skip
    await followups.send(db, actor, campaign.id)
    await db.commit()
    short = await db.scalar(text("SELECT short_code FROM follow_up_targets LIMIT 1"))
    assert short
    return PeopleData(
        staff.username, registered.id, "054-254-1111", format_code(booked.code), str(short)
    )


async def public_people_tour(page: Page, base_url: str, data: PeopleData, stop: Stop) -> None:
    """On a phone: registration (empty, refused, done), わたしの予約, settings, follow-up."""
    await page.goto(f"{base_url}/register")
    await stop("register")
    await page.get_by_label("お名前").fill("清水 一郎")
    await page.get_by_role("button", name="登録する").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await stop("register-errors")
    await page.goto(f"{base_url}/my")
    await stop("my")
    await page.get_by_label("電話番号").fill(data.phone)
    await page.get_by_label("予約番号").fill(data.code)
    await page.get_by_role("button", name="ご予約を表示する").click()
    await page.wait_for_url("**/my/bookings?**")
    await stop("my-bookings")
    await page.get_by_role("link", name="登録内容の変更・配信停止", exact=True).click()
    await page.wait_for_load_state()
    await stop("my-settings")
    await page.goto(f"{base_url}/f/{data.follow_up_code}")
    await expect(page.get_by_role("heading", name="就業状況のおたずね")).to_be_visible()
    await stop("follow-up")
    await page.get_by_role("button", name="送る").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await stop("follow-up-errors")


async def staff_people_tour(page: Page, base_url: str, data: PeopleData, stop: Stop) -> None:
    """On a tablet: the person page with its probable duplicate, and the withdrawal question."""
    await page.goto(f"{base_url}/manage/login")
    await page.get_by_label("ユーザー名").fill(data.username)
    await page.get_by_label("パスワード").fill(PASSWORD)
    await page.get_by_role("button", name="ログイン").click()
    await page.wait_for_load_state()
    await page.goto(f"{base_url}/manage/people/{data.person_id}")
    await expect(page.get_by_role("heading", name="同じ人かもしれない登録")).to_be_visible()
    await stop("person")
    await page.get_by_role("link", name="この方の相談・就業を記録").click()
    await page.wait_for_load_state()
    await expect(page.get_by_role("radio", name="登録者と結び付けない")).not_to_be_checked()
    await stop("person-record")
    await page.goto(f"{base_url}/manage/people/{data.person_id}/withdraw")
    await stop("person-withdraw")
    await page.goto(f"{base_url}/manage/people/{data.person_id}")
    await page.get_by_role("link", name="この方に統合する…").click()
    await page.wait_for_load_state()
    await stop("person-merge")
