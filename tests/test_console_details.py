"""Details of the console and the public pages that people tripped over (issue 18, points 7,
10 and 11): past sessions read 終了, the events list counts sessions to come, 繰り上げる only with
a seat and its refusal back on the roster, walk-ins within the companion limit, the audit log in
Japanese, a co-host's forbidden page, an 11-digit code, an online session's .ics and page."""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.calendars import service as calendars
from tests.factories import make_event, make_session, make_venue, person
from tests.manage_support import (
    later_today,
    make_staff,
    make_world,
    move_session,
    post_form,
    web_login,
)
from tests.test_online_sessions import SECRET_URL, make_online
from tests.test_pages_public import GOOD, submit


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


async def test_past_sessions_read_ended_and_the_list_counts_sessions_to_come(
    client: AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, title="終わった回のある説明会")
    venue = await make_venue(db)
    past = await make_session(db, event=event, venue=venue, capacity=100)
    coming = await make_session(db, event=event, venue=venue, capacity=10)
    for n in range(3):
        await bookings.book(db, past.id, person(n + 1))
    await bookings.book(db, coming.id, person(9))
    await db.commit()
    await move_session(db, past.id, starts_in=timedelta(days=-3))
    await web_login(client, db, await make_staff(db, "organizer"))

    page = await client.get(f"/manage/events/{event.id}")
    row = page.text.split(f'id="s{past.id}"')[1].split("</tr>")[0]
    assert "終了" in row and "予定" not in row
    assert f"/manage/sessions/{past.id}/cancel" not in row
    assert f"/manage/sessions/{coming.id}/cancel" in page.text
    form = await client.get(f"/manage/sessions/{past.id}/cancel")
    assert "中止にはできません" in form.text
    assert f'action="/manage/sessions/{past.id}/cancel"' not in form.text
    coming_form = _text((await client.get(f"/manage/sessions/{coming.id}/cancel")).text)
    assert "1名に電話連絡でお知らせします" in coming_form
    # The event's cancel page counts the sessions it would cancel (not the past one's three).
    event_form = _text((await client.get(f"/manage/events/{event.id}/cancel")).text)
    assert "1名に電話連絡でお知らせします" in event_form
    # A refused publish shows the event page again (with its past session), never a 500.
    await db.execute(text("UPDATE events SET status = 'cancelled' WHERE id = :e"), {"e": event.id})
    await db.commit()
    again = await post_form(client, f"/manage/events/{event.id}/publish")
    assert again.status_code == 409, again.status_code
    assert "中止したイベントは公開できません" in again.text and "終了" in again.text

    listed = _text((await client.get("/manage")).text)
    assert "1／10" in listed  # the session to come only, not 4／110
    assert "これから開かれる回" in listed


async def test_promote_is_offered_with_a_seat_and_refused_in_staff_words(
    client: AsyncClient, db: AsyncSession
) -> None:
    s = await make_session(db, capacity=1, waitlist_limit=3)
    await bookings.book(db, s.id, person(1))
    waiting = await bookings.book(db, s.id, person(2))
    await db.commit()
    await web_login(client, db, await make_staff(db, "organizer"))
    roster = await client.get(f"/manage/sessions/{s.id}")
    row = roster.text.split(f'id="b{waiting.id}"')[1].split("</tr>")[0]
    assert "定員を超えて繰り上げる" in row
    assert ">繰り上げる<" not in row
    # A stale page posting 繰り上げる anyway: back on the roster's address, in staff words.
    r = await post_form(client, f"/manage/bookings/{waiting.id}/promote")
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/manage/sessions/{s.id}?problem=promote_no_seat")
    shown = await client.get(r.headers["location"])
    assert "定員を超えて繰り上げる" in shown.text and "空いている席が足りない" in shown.text
    assert "満席のため、受け付けできませんでした" not in shown.text


async def test_walk_in_form_offers_the_events_companions(
    client: AsyncClient, db: AsyncSession
) -> None:
    s = await make_session(db, capacity=5)
    await move_session(db, s.id, starts_in=later_today())
    await web_login(client, db, await make_staff(db, "organizer"))
    page = await client.get(f"/manage/sessions/{s.id}/walk-in")
    assert 'name="companions.0.name"' in page.text
    assert 'name="companions.1.name"' not in page.text  # the event allows one


async def test_audit_log_reads_in_japanese(client: AsyncClient, db: AsyncSession) -> None:
    s = await make_session(db, capacity=2)
    booked = await bookings.book(db, s.id, person(1))
    await db.commit()
    admin = await make_staff(db, "admin")
    await web_login(client, db, admin)
    cancel = await post_form(
        client, f"/manage/bookings/{booked.id}/cancel", {"reason": "講師の都合"}
    )
    assert cancel.status_code == 303, cancel.text
    page = await client.get("/manage/audit")
    assert page.status_code == 200
    shown = _text(page.text)
    assert "予約を取り消し" in shown and "取消・中止の理由" in shown and "講師の都合" in shown
    assert "booking.cancel" not in shown.split("操作</label>")[-1].split("</select>")[-1]
    assert "\\u" not in page.text


async def test_a_cohost_on_an_organizers_page_is_told_plainly(
    client: AsyncClient, db: AsyncSession
) -> None:
    world = await make_world(db)
    await web_login(client, db, world.cohost_a)
    home = await client.get("/manage")
    assert "送信できなかったメール" not in home.text
    page = await client.get("/manage/events/new")
    assert page.status_code == 403
    assert "このページはお使いいただけません" in page.text
    assert "送信を受け付けられませんでした" not in page.text
    # A form without its CSRF token still says what happened.
    bare = await client.post("/manage/logout")
    assert bare.status_code == 403 and "送信を受け付けられませんでした" in bare.text


async def test_an_eleven_digit_code_is_told_codes_have_twelve(
    client: AsyncClient, db: AsyncSession
) -> None:
    lookup = await client.get("/bookings/lookup")
    page = await submit(
        client, lookup, "/bookings/lookup", {"code": "1234-5678-901", "phone": GOOD["phone"]}
    )
    assert "予約番号は12桁の数字です" in page.text and "11桁" in page.text
    assert "予約が見つかりませんでした" not in page.text


async def test_an_online_sessions_ics_and_page(client: AsyncClient, db: AsyncSession) -> None:
    s = await make_session(db, capacity=3)
    await db.execute(
        text(
            "UPDATE venues SET access_notes = '駅から徒歩5分', barrier_free_notes = 'スロープあり' "
            "WHERE id = :v"
        ),
        {"v": s.venue_id},
    )
    await make_online(db, s)
    booked = await bookings.book(db, s.id, person(1))
    await db.commit()
    path = await calendars.booking_calendar_path(db, booked.code)
    assert path is not None
    [event] = icalendar.Calendar.from_ical((await client.get(path)).content).walk("VEVENT")
    description = str(event["DESCRIPTION"])
    assert SECRET_URL in description and "受付で予約番号" not in description
    first_sequence = int(event["SEQUENCE"])

    public = (await client.get(f"/events/{s.event_id}")).text
    assert "参加方法" in public and "オンライン" in public
    assert "駅から徒歩5分" not in public and "スロープあり" not in public

    await bookings.cancel_booking(db, booked.code, booked.phone)
    await db.commit()
    [cancelled] = icalendar.Calendar.from_ical((await client.get(path)).content).walk("VEVENT")
    assert int(cancelled["SEQUENCE"]) > first_sequence
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert SECRET_URL not in str(cancelled["DESCRIPTION"])
