"""The .ics files, fetched through the app and parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from icalendar import Calendar
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.accounts.models import StaffUser
from service.domain.bookings.normalize import format_code
from service.domain.bookings.service import book, cancel_booking
from service.domain.calendars import links
from service.domain.calendars import service as calendars
from service.domain.calendars.tokens import calendar_path, legacy_calendar_token
from service.domain.events.models import event_cohosts
from service.platform.local_time import TOKYO
from service.platform.settings import Settings
from tests.factories import make_event, make_org, make_session, person
from tests.mail_support import session_at, tokyo_day

ICS = "text/calendar; charset=utf-8"


@pytest.fixture(autouse=True)
def feeds_look_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """No 5-second memo of the public feed's version: each request here sees the last edit."""
    monkeypatch.setattr(calendars, "PUBLIC_VERSION_TTL", 0.0)


def parse(body: bytes) -> Calendar:
    calendar = Calendar.from_ical(body)
    assert isinstance(calendar, Calendar)
    return calendar


def events_of(body: bytes) -> list[object]:
    return list(parse(body).walk("VEVENT"))


async def booking_path(db: AsyncSession, code: str) -> str:
    path = await calendars.booking_calendar_path(db, code)
    assert path is not None
    return path


async def staff_link(
    db: AsyncSession, settings: Settings, user_id: int, name: str = "スマートフォン", **filters: str
) -> str:
    """A new feed link of the user, as its path."""
    user = await db.get(StaffUser, user_id)
    assert user is not None
    made = await links.create_link(db, settings, Actor.of(user), name=name, **filters)
    await db.commit()
    return made.url.removeprefix(settings.base_url)


async def get_ics(client: AsyncClient, path: str) -> bytes:
    r = await client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == ICS
    return r.content


async def test_booking_calendar_has_the_event_in_tokyo_time(
    db: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    starts = tokyo_day(10) + timedelta(hours=10)
    session = await session_at(db, starts, title="介護のお仕事説明会")
    view = await book(db, session.id, person(1, email=True))
    await db.commit()

    body = await get_ics(client, await booking_path(db, view.code))

    [event] = events_of(body)
    start = event.decoded("dtstart")  # type: ignore[attr-defined]
    assert start == starts
    assert start.utcoffset() == timedelta(hours=9)
    assert event["dtstart"].params["TZID"] == "Asia/Tokyo"  # type: ignore[index]
    assert event.decoded("dtend") == starts + timedelta(hours=5)  # type: ignore[attr-defined]
    assert b"BEGIN:VTIMEZONE" in body and b"TZID:Asia/Tokyo" in body
    assert str(event["summary"]) == "介護のお仕事説明会"  # type: ignore[index]
    assert str(event["status"]) == "CONFIRMED"  # type: ignore[index]
    assert str(event["location"]).startswith("会場")  # type: ignore[index]
    assert "静岡市清水区旭町6-8" in str(event["location"])  # type: ignore[index]
    description = str(event["description"])  # type: ignore[index]
    assert f"予約番号：{format_code(view.code)}" in description
    assert settings.desk_phone in description
    assert f"{settings.base_url}/bookings/lookup" in description
    # Nothing personal: the holder's name, phone and mail are not in the file.
    text_body = body.decode()
    for personal in (view.name, view.phone, "taro1@example.jp"):
        assert personal not in text_body
    # The UID stays the same on every download (calendars update instead of duplicating),
    # and does not give away the code.
    again = events_of(await get_ics(client, await booking_path(db, view.code)))[0]
    assert str(again["uid"]) == str(event["uid"])  # type: ignore[index]
    assert view.code not in str(event["uid"])  # type: ignore[index]


async def test_booking_calendar_link_needs_the_right_token(
    db: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    session = await session_at(db, tokyo_day(10) + timedelta(hours=10), capacity=3)
    view = await book(db, session.id, person(1))
    other = await book(db, session.id, person(2))
    await db.commit()
    token = (await booking_path(db, view.code)).rpartition("t=")[2]
    other_token = (await booking_path(db, other.code)).rpartition("t=")[2]
    base = f"/bookings/{view.code}/calendar.ics"

    for path in (
        base,
        f"{base}?t=",
        f"{base}?t=wrong",
        f"{base}?t={other_token}",
        f"{base}?t={legacy_calendar_token(settings, other.code)}",
        f"{base}?t={token[:-1]}",
        f"{base}?t={'x' * 5000}",
        f"/bookings/{'2' * 10}/calendar.ics?t={legacy_calendar_token(settings, '2' * 10)}",
        f"/bookings/<script>/calendar.ics?t={token}",
    ):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert "text/html" in r.headers["content-type"]

    # The display form (and lower case, as typed) reaches the same booking.
    lowered = format_code(view.code).lower()
    r = await client.get(f"/bookings/{lowered}/calendar.ics", params={"t": token})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "private, no-store"
    assert "noindex" in r.headers["x-robots-tag"]


async def test_booking_calendar_follows_the_booking_state(
    db: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    session = await session_at(db, tokyo_day(10) + timedelta(hours=10), capacity=1)
    confirmed = await book(db, session.id, person(1))
    waiting = await book(db, session.id, person(2))
    await db.commit()

    [event] = events_of(await get_ics(client, await booking_path(db, waiting.code)))
    assert str(event["status"]) == "TENTATIVE"  # type: ignore[index]
    assert str(event["summary"]).startswith("【キャンセル待ち】")  # type: ignore[index]
    assert "1番目" in str(event["description"])  # type: ignore[index]
    tentative = int(event["sequence"])  # type: ignore[index]

    await cancel_booking(db, confirmed.code, confirmed.phone)
    await db.commit()
    [event] = events_of(await get_ics(client, await booking_path(db, confirmed.code)))
    assert str(event["status"]) == "CANCELLED"  # type: ignore[index]
    [event] = events_of(await get_ics(client, await booking_path(db, waiting.code)))
    assert str(event["status"]) == "CONFIRMED"  # type: ignore[index]
    # Promoted: a higher SEQUENCE, so a calendar replaces the TENTATIVE entry.
    assert int(event["sequence"]) > tentative  # type: ignore[index]


async def test_commas_semicolons_and_newlines_in_titles_are_escaped(
    db: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    title = "説明会, 午前の部; 午後の部\n第2部\\特別編"
    session = await session_at(db, tokyo_day(10) + timedelta(hours=10), title=title)
    view = await book(db, session.id, person(1))
    await db.commit()

    body = await get_ics(client, await booking_path(db, view.code))

    unfolded = body.replace(b"\r\n ", b"").decode()
    assert "SUMMARY:説明会\\, 午前の部\\; 午後の部\\n第2部\\\\特別編\r\n" in unfolded
    [event] = events_of(body)
    assert str(event["summary"]) == title  # type: ignore[index]
    # Every line ends in CRLF and none is longer than 75 octets (folded by the library).
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))


async def test_public_feed_lists_published_upcoming_sessions_only(
    db: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    published = await session_at(db, tokyo_day(5) + timedelta(hours=13), title="公開セミナー")
    draft_event = await make_event(db, title="下書きの説明会", status="draft")
    await make_session(db, event=draft_event)
    past = await session_at(db, tokyo_day(3) + timedelta(hours=9), title="終わった研修")
    await db.execute(
        text(
            "UPDATE sessions SET starts_at = now() - interval '3 days', "
            "ends_at = now() - interval '2 days' WHERE id = :s"
        ),
        {"s": past.id},
    )
    cancelled = await session_at(db, tokyo_day(8) + timedelta(hours=10), title="中止の相談会")
    await db.execute(
        text("UPDATE sessions SET status = 'cancelled', cancelled_at = now() WHERE id = :s"),
        {"s": cancelled.id},
    )
    view = await book(db, published.id, person(7, email=True))
    await db.commit()

    r = await client.get("/events.ics")
    assert r.status_code == 200
    assert r.headers["content-type"] == ICS
    assert "public" in r.headers["cache-control"]
    events = {str(e["summary"]): e for e in events_of(r.content)}  # type: ignore[index]
    # Ended sessions stay (60 days), so they do not vanish from subscribers' calendars.
    assert set(events) == {"公開セミナー", "【中止】中止の相談会", "終わった研修"}
    seminar = events["公開セミナー"]
    assert seminar.decoded("dtstart") == tokyo_day(5) + timedelta(hours=13)  # type: ignore[attr-defined]
    assert str(seminar["uid"]).startswith(f"session-{published.id}-")  # type: ignore[index]
    assert str(events["【中止】中止の相談会"]["status"]) == "CANCELLED"  # type: ignore[index]
    assert f"/events/{published.event_id}" in str(seminar["url"])  # type: ignore[index]
    body = r.text
    for personal in (view.name, view.phone, "taro7@example.jp", view.code):
        assert personal not in body


async def _staff_user(
    db: AsyncSession, username: str, role: str, organization_id: int | None = None
) -> int:
    user = StaffUser(
        username=username,
        display_name=username,
        password_hash="-",
        role=role,
        organization_id=organization_id,
    )
    db.add(user)
    await db.flush()
    return user.id


async def test_staff_feeds_show_counts_for_what_each_user_may_see(
    db: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    hello_work = await make_org(db, "ハローワーク静岡", kind="cohost")
    cohosted = await session_at(
        db, tokyo_day(4) + timedelta(hours=10), title="共催の説明会", capacity=1
    )
    await db.execute(
        insert(event_cohosts).values(event_id=cohosted.event_id, organization_id=hello_work.id)
    )
    await session_at(db, tokyo_day(6) + timedelta(hours=10), title="単独の研修")
    draft_event = await make_event(db, title="準備中の面談会", status="draft")
    await make_session(db, event=draft_event, commit=False)
    organizer_id = await _staff_user(db, "aoki", "organizer")
    cohost_id = await _staff_user(db, "hw1", "cohost", hello_work.id)
    await db.commit()
    first = await book(db, cohosted.id, person(1, email=True))
    await book(db, cohosted.id, person(2))
    await db.commit()

    organizer_feed = await get_ics(client, await staff_link(db, settings, organizer_id))
    summaries = {str(e["summary"]) for e in events_of(organizer_feed)}  # type: ignore[index]
    assert summaries == {
        "共催の説明会（予約1/1・待ち1）",
        "単独の研修（予約0/15・待ち0）",
        "【下書き】準備中の面談会（予約0/15・待ち0）",
    }
    cohost_feed = await get_ics(client, await staff_link(db, settings, cohost_id))
    [event] = events_of(cohost_feed)
    assert str(event["summary"]) == "共催の説明会（予約1/1・待ち1）"  # type: ignore[index]
    assert "予約確定：1名（定員1名）" in str(event["description"])  # type: ignore[index]
    assert "キャンセル待ち：1名" in str(event["description"])  # type: ignore[index]
    for feed in (organizer_feed, cohost_feed):
        decoded = feed.decode()
        for personal in (first.name, first.phone, "taro1@example.jp", first.code):
            assert personal not in decoded


async def test_staff_feed_refuses_made_up_and_disabled_users_links(
    db: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    user_id = await _staff_user(db, "aoki", "organizer")
    await db.commit()
    path = await staff_link(db, settings, user_id)
    token = path.removeprefix("/calendar/staff/").removesuffix(".ics")

    for bad in (
        f"/calendar/staff/{token[:-1]}x.ics",
        f"/calendar/staff/{token}",
        f"/calendar/staff/{token}.ics.ics",
        "/calendar/staff/.ics",
        f"/calendar/staff/{user_id}-{token}.ics",
    ):
        r = await client.get(bad)
        assert r.status_code == 404, bad

    assert (await client.get(path)).status_code == 200
    await db.execute(text("UPDATE staff_users SET is_active = false WHERE id = :u"), {"u": user_id})
    await db.commit()
    assert (await client.get(path)).status_code == 404


@pytest.mark.parametrize(
    "code", ["123456789012", "1234-5678-9012", "1234 5678 9012", "１２３４ー５６７８－９０１２"]
)
def test_old_calendar_links_are_the_same_for_every_way_of_writing_the_code(
    settings: Settings, code: str
) -> None:
    assert legacy_calendar_token(settings, code) == legacy_calendar_token(settings, "123456789012")
    assert calendar_path(code, "t0").startswith("/bookings/123456789012/calendar.ics?t=t0")


async def test_feed_times_are_tokyo_times(db: AsyncSession, client: AsyncClient) -> None:
    # Stored in UTC; 01:00 UTC is 10:00 in Tokyo.
    start = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=3)
    await session_at(db, start, title="時刻の確認")
    [event] = events_of(await get_ics(client, "/events.ics"))
    local = event.decoded("dtstart")  # type: ignore[attr-defined]
    assert (local.hour, local.tzinfo) == (10, TOKYO)
