"""A tour of every public page and state, with a callback at each stop: the accessibility tests
check each page (axe, no sideways scrolling, no CSP violations); `make screenshots` photographs
each one. Both see the same pages, so what is checked is what a person looks at."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from playwright.async_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from service.devtools.demo_data import load_demo_data
from service.domain.bookings import service as bookings
from service.domain.bookings.schemas import validate_booking_input
from tests.browser.data import Seeded, add_event, book_someone
from tests.browser.journeys import HANAKO, booking_path, click, look_up, to_confirmation

# Low enough to reach the 429 page in a few tries, high enough for the rest of the tour.
TOUR_RATE_LIMIT = 20
Stop = Callable[[str], Awaitable[None]]

# Every stop of the tour, in order (the names of the screenshots).
STOPS = (
    "home",
    "home-filtered",
    "home-no-results",
    "event",
    "event-full",
    "book-form",
    "book-form-errors",
    "book-confirm",
    "book-done",
    "book-confirm-after-done",
    "book-expired",
    "book-full-offer-waitlist",
    "book-done-waitlisted",
    "book-form-waitlist",
    "lookup",
    "lookup-not-found",
    "booking-detail",
    "cancel-confirm",
    "cancel-done",
    "cancel-back",
    "companion-cancel-confirm",
    "lookup-expired",
    "privacy",
    "accessibility",
    "not-found",
    "form-refused",
    "rate-limited",
)


async def forget_rate_limits(redis_url: str) -> None:
    """Between two tours in the same minute: the first one ends by hitting the limit."""
    client = aioredis.from_url(redis_url)
    try:
        keys = await client.keys("ratelimit:*")
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@dataclass(frozen=True)
class TourData:
    full: Seeded  # a session that is full, with room on the waiting list
    last_seats: Seeded  # one session per tour, each with two seats left
    # Per tour: (code, phone) of a confirmed couple in a full session with one person waiting.
    couples: tuple[tuple[str, str], ...] = ()


async def seed_tour(db: AsyncSession, tours: int = 1) -> TourData:
    """The demo events, one full session, and one session with two seats left per tour."""
    await load_demo_data(db)
    await db.commit()
    full = await add_event(
        db,
        title="ビル・マンション管理のお仕事説明会",
        sector="building",
        days_ahead=(12,),
        capacity=2,
        waitlist_limit=5,
        cohosts=("静岡市シルバー人材センター",),
        employers=("清水ビルメンテナンス株式会社",),
    )
    for n in (1, 2):
        await book_someone(db, full.session_ids[0], n)
    last_seats = await add_event(
        db,
        title="清掃のお仕事 面談会",
        sector="cleaning",
        ward="suruga",
        venue="南部生涯学習センター",
        days_ahead=tuple(16 + i for i in range(tours)),
        capacity=6,
        waitlist_limit=10,
        cohosts=(),
        employers=("株式会社しずおかクリーンサービス",),
    )
    for session_id in last_seats.session_ids:
        for n in range(4):
            await book_someone(db, session_id, session_id * 10 + n)
    pairs = await add_event(
        db,
        title="シニアのためのスマホ教室（ご夫婦で参加できます）",
        kind="seminar",
        sector="general",
        days_ahead=tuple(20 + i for i in range(tours)),
        capacity=2,
        waitlist_limit=3,
        cohosts=(),
        employers=(),
    )
    couples = []
    for n, session_id in enumerate(pairs.session_ids):
        phone = f"054-255-{n:04d}"
        data = validate_booking_input(
            {
                "name": "駿河 和子",
                "name_kana": "するが かずこ",
                "phone": phone,
                "companions": [{"name": "駿河 一郎", "name_kana": "するが いちろう"}],
            }
        )
        couple = await bookings.book(db, session_id, data)
        await book_someone(db, session_id, 8000 + n)  # waits for a seat
        couples.append((couple.display_code, phone))
    await db.commit()
    return TourData(full, last_seats, tuple(couples))


async def tour(
    page: Page,
    base_url: str,
    db: AsyncSession,
    data: TourData,
    stop: Stop,
    *,
    number: int = 0,
) -> None:
    """number: which of the seeded last-seat sessions this tour uses (one per tour)."""
    session_id = data.last_seats.session_ids[number]
    event_id = data.last_seats.event_id

    def url(path: str) -> str:
        return base_url + path

    person = {**HANAKO, "phone": f"054-254-{number:04d}", "email": "hanako@example.jp"}

    await page.goto(url("/"))
    await stop("home")
    await page.goto(url("/?sector=care"))
    await stop("home-filtered")
    await page.goto(url("/?sector=cleaning&ward=online"))
    await stop("home-no-results")
    await page.goto(url("/"))
    await page.get_by_role("link", name="詳しく見る・申し込む").first.click()
    await stop("event")
    await page.goto(url(f"/events/{data.full.event_id}"))
    await stop("event-full")

    # A booking with a mistake first, then fixed.
    await page.goto(url(booking_path(event_id, session_id)))
    await stop("book-form")
    await to_confirmation(page, {**person, "phone": "054-254-27７O"})
    await stop("book-form-errors")
    await to_confirmation(page, person)
    await stop("book-confirm")
    await click(page, "この内容で申し込む")
    await stop("book-done")
    code = (await page.locator("#booking-code").inner_text()).strip()
    # Back from the done page: the confirmation says it is done (a GET page, no resubmission).
    await page.go_back()
    await stop("book-confirm-after-done")
    await page.go_forward()
    # A draft that has expired (or an address mistyped): start again.
    await page.goto(url(booking_path(event_id, session_id) + "/confirm?d=" + "x" * 32))
    await stop("book-expired")

    # The last seat goes while the next person is on the confirmation page.
    other = {
        **person,
        "name": "駿河 一郎",
        "name_kana": "するが いちろう",
        "email": "",
        "phone": f"090-1234-{number:04d}",
    }
    await page.goto(url(booking_path(event_id, session_id)))
    await to_confirmation(page, other)
    await book_someone(db, session_id, 9000 + number)
    await click(page, "この内容で申し込む")
    await stop("book-full-offer-waitlist")
    await click(page, "キャンセル待ちに申し込む")
    await stop("book-done-waitlisted")
    await page.goto(url(booking_path(data.full.event_id, data.full.session_ids[0])))
    await stop("book-form-waitlist")

    # Look-up and cancel.
    await page.goto(url("/bookings/lookup"))
    await stop("lookup")
    await look_up(page, base_url, code, "054-000-0000")
    await stop("lookup-not-found")
    await look_up(page, base_url, code, person["phone"])
    await stop("booking-detail")
    await click(page, "この予約を取り消す")
    await stop("cancel-confirm")
    await click(page, "はい、予約を取り消します")
    await stop("cancel-done")
    await page.go_back()
    await stop("cancel-back")
    # One companion only: the button asks once more, on its own page.
    couple_code, couple_phone = data.couples[number]
    await look_up(page, base_url, couple_code, couple_phone)
    await click(page, "駿河 一郎さんだけ取り消す")
    await stop("companion-cancel-confirm")
    await page.get_by_role("link", name="いいえ、取り消しません").click()
    await page.goto(url("/bookings/details?g=" + "x" * 32))
    await stop("lookup-expired")

    await page.goto(url("/privacy"))
    await stop("privacy")
    await page.goto(url("/accessibility"))
    await stop("accessibility")
    await page.goto(url("/events/999999"))
    await stop("not-found")
    # A form whose security check cookie is gone (a browser that keeps no cookies).
    await page.goto(url("/bookings/lookup"))
    await page.context.clear_cookies()
    await page.locator("#code").fill(code)
    await page.locator("#phone").fill(person["phone"])
    await click(page, "予約を確認する")
    await stop("form-refused")
    # Too many look-ups from one place: a burst of them at once (one by one, a slow machine
    # may spread them over two of the limiter's one-minute windows), then the form once more.
    for _ in range(3):
        await page.goto(url("/bookings/lookup"))
        await page.locator("#code").fill(code)
        await page.locator("#phone").fill("054-000-0000")
        await page.evaluate(
            """n => { const form = document.querySelector('form[action="/bookings/lookup"]');
                const body = () => new URLSearchParams(new FormData(form));
                return Promise.all(Array.from({length: n},
                    () => fetch(form.action, {method: 'POST', body: body()}))); }""",
            TOUR_RATE_LIMIT,
        )
        response = await click(page, "予約を確認する")
        if response is not None and response.status == 429:
            break
    else:
        raise AssertionError("the look-up was never rate limited")
    await stop("rate-limited")
