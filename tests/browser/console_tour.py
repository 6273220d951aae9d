"""A tour of every page and state of the organizer console, with a callback at each stop: the
console accessibility test checks each page with axe at 390, 768 and 1280px, and
`make screenshots` photographs each one (console-<stop>-<width>.png). The roster is a session of
40 on its day, the size the compact check-in list is made for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from playwright.async_api import Page
from redis import asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.bookings import service as bookings
from service.domain.bookings.schemas import validate_booking_input
from service.domain.errors import RateLimited
from service.domain.events.session_changes import snapshot
from service.domain.notifications.calls import open_call_task
from service.domain.notifications.repository import NotificationRepository
from service.edge.login_limits import (
    LOGIN_LIMIT_PER_USERNAME_ADDRESS,
    LOGIN_SLOW_AFTER_FAILURES,
    count_login_attempt,
    login_failed,
)
from tests.factories import make_event, make_session, make_venue
from tests.manage_support import PASSWORD, make_staff, move_session

Stop = Callable[[str], Awaitable[None]]

CONSOLE_STOPS = (
    "login",
    "login-error",
    "events",
    "event",
    "event-new",
    "event-new-errors",
    "event-cancel",
    "session-new",
    "session-new-errors",
    "session-cancel",
    "session-change-warning",
    "roster",
    "roster-search",
    "roster-checked-in",
    "roster-print",
    "booking",
    "booking-cancel",
    "booking-cancel-errors",
    "booking-edit",
    "booking-edit-errors",
    "booking-move",
    "companion-cancel-question",
    "call-declined-question",
    "search",
    "search-results",
    "phone-booking",
    "phone-booking-errors",
    "walk-in",
    "venue-new",
    "organization-new",
    "users",
    "user-new",
    "audit",
    "login-locks",
    "calendar-links",
    "calendar-link-new",
    "calendar-link-errors",
    "calls",
)

ROSTER_SIZE = 40
_FAMILY = [
    ("青木", "あおき"),
    ("伊藤", "いとう"),
    ("上田", "うえだ"),
    ("遠藤", "えんどう"),
    ("小川", "おがわ"),
    ("加藤", "かとう"),
    ("木村", "きむら"),
    ("佐藤", "さとう"),
    ("鈴木", "すずき"),
    ("高橋", "たかはし"),
]
_GIVEN = [("花子", "はなこ"), ("太郎", "たろう"), ("和子", "かずこ"), ("一郎", "いちろう")]


def roster_people(count: int = ROSTER_SIZE) -> list[tuple[str, str]]:
    """(name, kana in hiragana) for count different people."""
    people = []
    for n in range(count):
        family, family_kana = _FAMILY[n % len(_FAMILY)]
        given, given_kana = _GIVEN[(n // len(_FAMILY)) % len(_GIVEN)]
        people.append((f"{family} {given}", f"{family_kana} {given_kana}"))
    return people


@dataclass(frozen=True)
class ConsoleData:
    username: str
    event_id: int
    session_id: int  # the day's session with 40 people, two waiting and one cancelled
    booking_id: int  # someone on it
    couple_id: int = 0  # a couple booked for a later session of the event, which can move
    future_session_id: int = 0  # in 20 days: three people to phone, one with e-mail


async def seed_login_locks(redis_url: str) -> None:
    """Someone guessing a password: one username refused from one address, and slowed."""
    client = aioredis.from_url(redis_url)
    try:
        for _ in range(LOGIN_LIMIT_PER_USERNAME_ADDRESS + 1):
            try:
                await count_login_attempt(client, username="guesser", address="203.0.113.9")
            except RateLimited:
                break
        for _ in range(LOGIN_SLOW_AFTER_FAILURES):
            await login_failed(client, username="guesser")
    finally:
        await client.aclose()


async def seed_console(
    db: AsyncSession, *, username: str = "desk-admin", redis_url: str | None = None
) -> ConsoleData:
    """An admin (who sees every page), and an event whose session of 40 is today; with
    redis_url, login locks to list as well."""
    if redis_url:
        await seed_login_locks(redis_url)
    admin = await make_staff(db, "admin", username=username)
    venue = await make_venue(db)
    event = await make_event(db, title="お仕事面談会（介護・福祉のお仕事）", kind="job_fair")
    later = await make_session(
        db, event=event, venue=venue, capacity=15, starts_in=timedelta(days=20)
    )
    full = await make_session(
        db, event=event, venue=venue, capacity=1, waitlist_limit=3, starts_in=timedelta(days=27)
    )
    await make_session(db, event=event, venue=venue, capacity=10, starts_in=timedelta(days=34))
    event.max_companions = 2
    couple = await bookings.book(
        db,
        later.id,
        validate_booking_input(
            {
                "name": "駿河 和子",
                "name_kana": "するが かずこ",
                "phone": "054-255-0101",
                "email": "kazuko.suruga.family@example.jp",
                "companions": [{"name": "駿河 一郎", "name_kana": "するが いちろう"}],
                "needs": "車いすで伺います。段差のない入口を教えてください。",
            }
        ),
    )
    await bookings.book(
        db,
        full.id,
        validate_booking_input(
            {"name": "満席 太郎", "name_kana": "まんせき たろう", "phone": "054-255-0102"}
        ),
    )
    future = await make_session(
        db, event=event, venue=venue, capacity=15, starts_in=timedelta(days=20)
    )
    future_id = future.id
    await seed_calls(db, future_id)
    mailed = {"name": "静岡 花子", "name_kana": "しずおか はなこ", "phone": "09011112222"}
    await bookings.book(db, future_id, validate_booking_input({**mailed, "email": "h@example.jp"}))
    await db.commit()
    s = await make_session(
        db, event=event, venue=venue, capacity=ROSTER_SIZE, waitlist_limit=5, commit=False
    )
    people = roster_people(ROSTER_SIZE + 3)
    ids = []
    for n, (name, kana) in enumerate(people):
        data = validate_booking_input(
            {"name": name, "name_kana": kana, "phone": f"090{70_000_000 + n:08d}"}
        )
        ids.append((await bookings.book(db, s.id, data)).id)
    await db.commit()
    await bookings.cancel_booking_by_id(db, ids[1], staff_id=admin.id, reason="都合がつかない")
    await db.commit()
    await db.execute(
        text("UPDATE bookings SET checked_in_at = now() WHERE id = ANY(:ids)"),
        {"ids": ids[2:6]},
    )
    await db.commit()
    await move_session(db, s.id, starts_in=timedelta(minutes=-10))
    return ConsoleData(username, event.id, s.id, ids[0], couple.id, future_id)


CALLERS = (
    # (name, kana, phone, companion): people who booked by phone, most on a landline.
    ("駿河 和子", "するが かずこ", "054-366-7788", ("駿河 一郎", "するが いちろう")),
    ("長谷川 勘三郎", "はせがわ かんざぶろう", "054-254-2770", None),
    ("望月 ふみ", "もちづき ふみ", "090-1234-5678", None),
)


async def seed_calls(db: AsyncSession, session_id: int) -> list[int]:
    """Three people without e-mail booked on the session (one party of two), each with a call
    to make: a seat from the waiting list, the session moved from 10:00 to 10:30 (its script
    says before and after), the day-before reminder. Returns the booking ids."""
    ids = []
    for name, kana, phone, companion in CALLERS:
        raw: dict[str, object] = {"name": name, "name_kana": kana, "phone": phone}
        if companion:
            raw["companions"] = [{"name": companion[0], "name_kana": companion[1]}]
        ids.append((await bookings.book(db, session_id, validate_booking_input(raw))).id)
    await db.commit()
    repo = NotificationRepository(db)
    for booking_id, kind in zip(
        ids, ("booking_promoted", "session_changed", "reminder"), strict=True
    ):
        facts = await repo.mail_facts(booking_id)
        assert facts is not None
        payload = {}
        if kind == "session_changed":
            common = {"venue_name": facts.venue_name, "venue_ward": facts.venue_ward}
            payload = {
                "change": {
                    "before": snapshot(
                        starts_at=facts.starts_at - timedelta(minutes=30),
                        ends_at=facts.ends_at - timedelta(minutes=30),
                        is_online=False,
                        join_url=None,
                        **common,
                    ),
                    "after": snapshot(
                        starts_at=facts.starts_at,
                        ends_at=facts.ends_at,
                        is_online=False,
                        join_url=None,
                        **common,
                    ),
                }
            }
        await open_call_task(
            db,
            notification_id=None,
            kind=kind,
            facts=facts,
            reason="no_email",
            now=clock.now(),
            payload=payload,
        )
    await db.commit()
    return ids


def _later(local: str, minutes: int = 30) -> str:
    """A datetime-local value (2026-12-27T10:00) half an hour later."""
    moment = datetime.strptime(local, "%Y-%m-%dT%H:%M") + timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M")


async def _go(page: Page, url: str) -> None:
    await page.goto(url)


async def _press(page: Page, name: str) -> None:
    async with page.expect_navigation():
        await page.get_by_role("button", name=name, exact=True).first.click()


async def console_tour(page: Page, base_url: str, data: ConsoleData, stop: Stop) -> None:
    def url(path: str) -> str:
        return base_url + path

    await _go(page, url("/manage/login"))
    await stop("login")
    await page.locator("#username").fill(data.username)
    await page.locator("#password").fill("not the password")
    await _press(page, "ログイン")
    await stop("login-error")
    await page.locator("#password").fill(PASSWORD)
    await _press(page, "ログイン")
    await stop("events")

    await _go(page, url(f"/manage/events/{data.event_id}"))
    await stop("event")
    await _go(page, url("/manage/events/new"))
    await stop("event-new")
    await _press(page, "作成する（下書き）")
    await stop("event-new-errors")
    await _go(page, url(f"/manage/events/{data.event_id}/cancel"))
    await stop("event-cancel")
    await _go(page, url(f"/manage/events/{data.event_id}/sessions/new"))
    await stop("session-new")
    await _press(page, "追加する")
    await stop("session-new-errors")
    # The form (with who is told) is for a session still to come; a started one cannot be.
    await _go(page, url(f"/manage/sessions/{data.future_session_id or data.session_id}/cancel"))
    await stop("session-cancel")
    if data.future_session_id:
        # Moving a booked session half an hour: the warning, then back (nothing is saved, so
        # the tour can run again at the next width).
        await _go(page, url(f"/manage/sessions/{data.future_session_id}/edit"))
        starts = page.locator("#starts_at")
        ends = page.locator("#ends_at")
        await starts.fill(_later(await starts.input_value()))
        await ends.fill(_later(await ends.input_value()))
        await _press(page, "保存する")
        await stop("session-change-warning")
        await _press(page, "戻って直す")

    roster = url(f"/manage/sessions/{data.session_id}")
    await _go(page, roster)
    await stop("roster")
    await page.locator("#q").fill("さとう")
    await _press(page, "探す")
    await stop("roster-search")
    await _go(page, roster)
    name = "青木 花子"
    await _press(page, f"{name}さんを受付する")
    await stop("roster-checked-in")
    await _press(page, f"{name}さんの受付を取り消す")
    await _go(page, url(f"/manage/sessions/{data.session_id}/print"))
    await stop("roster-print")

    await _go(page, url(f"/manage/bookings/{data.booking_id}"))
    await stop("booking")
    await _go(page, url(f"/manage/bookings/{data.booking_id}/cancel"))
    await stop("booking-cancel")
    # Only a space: the browser sends it, the form refuses it.
    await page.locator("#reason").fill("　")
    await _press(page, "取り消す")
    await stop("booking-cancel-errors")
    edit = url(f"/manage/bookings/{data.couple_id}/edit")
    await _go(page, edit)
    await stop("booking-edit")
    await page.locator("#phone").fill("054-255")
    await page.locator("#name_kana").fill("suruga")
    await _press(page, "変更を保存する")
    await stop("booking-edit-errors")
    await _go(page, url(f"/manage/bookings/{data.couple_id}/move"))
    await stop("booking-move")
    await _go(page, url(f"/manage/bookings/{data.couple_id}/companions/1/cancel"))
    await stop("companion-cancel-question")
    await _go(page, url(f"/manage/bookings/{data.booking_id}/calls/declined"))
    await stop("call-declined-question")
    await _go(page, url("/manage/search"))
    await stop("search")
    await page.locator("#q").fill("さとう")
    await _press(page, "探す")
    await stop("search-results")
    await _go(page, url(f"/manage/sessions/{data.session_id}/phone-booking"))
    await stop("phone-booking")
    await page.locator("#phone").fill("054-123")
    await _press(page, "予約を登録する")
    await stop("phone-booking-errors")
    await _go(page, url(f"/manage/sessions/{data.session_id}/walk-in"))
    await stop("walk-in")

    await _go(page, url("/manage/venues/new"))
    await stop("venue-new")
    await _go(page, url("/manage/organizations/new"))
    await stop("organization-new")
    await _go(page, url("/manage/users"))
    await stop("users")
    await _go(page, url("/manage/users/new"))
    await stop("user-new")
    await _go(page, url("/manage/audit"))
    await stop("audit")
    await _go(page, url("/manage/login-locks"))
    await stop("login-locks")

    await _go(page, url("/manage/calendar-links/"))
    await stop("calendar-links")
    await page.locator("#name").fill("受付のタブレット")
    await page.locator("#sector").select_option(index=1)
    await _press(page, "アドレスを作る")
    await stop("calendar-link-new")
    await page.locator("#name").fill("")
    await _press(page, "アドレスを作る")
    await stop("calendar-link-errors")

    await _go(page, url("/manage/calls"))
    await stop("calls")
