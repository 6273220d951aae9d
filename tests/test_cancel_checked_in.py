"""Cancelling once people have checked in (issue 8, point 1).

The rule: who came stays on record. A checked-in booking (a walk-in is checked in at once)
cannot be cancelled on its own, by the holder or by staff: 409 `booking_checked_in` with a
plain-Japanese message (staff who checked in the wrong person undo the check-in first).
Cancelling the session or the whole event before it starts (the room flooded) cancels every
booking, checked in or not, mails each person, and keeps the check-in time on the cancelled
booking as history."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from tests.factories import make_session
from tests.manage_support import (
    bearer,
    issue_token,
    later_today,
    make_staff,
    move_session,
    person,
    post_form,
    web_login,
)
from tests.test_pages_public import hidden_of, submit

WALK_IN = {"name": "当日 一郎", "name_kana": "とうじつ いちろう", "phone": "054-200-0001"}


async def _day_with_check_ins(
    client: AsyncClient, db: AsyncSession
) -> tuple[dict[str, str], int, Any, int, Any]:
    """A session starting in an hour: one checked-in booking, one walk-in, one booked person
    who has not come yet. Returns (staff headers, session id, checked-in view, walk-in id,
    not-yet-come view)."""
    headers = bearer(await issue_token(db, await make_staff(db, "organizer")))
    s = await make_session(db, capacity=5, waitlist_limit=2)
    came = await bookings.book(db, s.id, person(1))
    later = await bookings.book(db, s.id, person(2))
    await db.commit()
    await move_session(db, s.id, starts_in=later_today())
    r = await client.post(f"/api/v1/manage/bookings/{came.id}/check-in", headers=headers)
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/manage/sessions/{s.id}/walk-ins", json=WALK_IN, headers=headers)
    assert r.status_code == 201, r.text
    return headers, s.id, came, int(r.json()["id"]), later


async def _booking(db: AsyncSession, booking_id: int) -> Any:
    await db.rollback()
    return (
        await db.execute(
            text("SELECT status, checked_in_at, cancelled_at FROM bookings WHERE id = :id"),
            {"id": booking_id},
        )
    ).one()


async def _notices(db: AsyncSession, session_id: int) -> dict[int, str]:
    rows = await db.execute(
        text(
            "SELECT n.booking_id, n.kind FROM notifications n"
            " JOIN bookings b ON b.id = n.booking_id"
            " WHERE b.session_id = :s AND n.kind = 'session_cancelled'"
        ),
        {"s": session_id},
    )
    return {int(r.booking_id): r.kind for r in rows}


def _japanese(message: str) -> bool:
    return re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", message) is not None


async def test_holder_cannot_cancel_after_check_in_api(
    client: AsyncClient, db: AsyncSession
) -> None:
    _, _, came, _, later = await _day_with_check_ins(client, db)
    r = await client.post(f"/api/v1/bookings/{came.code}/cancel", json={"phone": came.phone})
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "booking_checked_in"
    assert _japanese(r.json()["message"])
    row = await _booking(db, came.id)
    assert row.status == "confirmed" and row.checked_in_at is not None
    # Someone who has not come yet can still cancel before the start.
    r = await client.post(f"/api/v1/bookings/{later.code}/cancel", json={"phone": later.phone})
    assert r.status_code == 200, r.text


async def test_holder_cannot_cancel_after_check_in_page(
    client: AsyncClient, db: AsyncSession
) -> None:
    _, _, came, _, _ = await _day_with_check_ins(client, db)
    form = await client.get(f"/bookings/lookup?code={came.code}")
    found = await submit(client, form, "/bookings/lookup", {"code": came.code, "phone": came.phone})
    assert found.status_code == 200
    assert "受付がお済みです" in found.text
    assert 'action="/bookings/cancel"' not in found.text
    # A stale or hand-made cancel form gets the rule, not a 500.
    values = {**hidden_of(form), "code": came.code, "phone": came.phone}
    answer = await client.post("/bookings/cancel/complete", data=values)
    assert answer.status_code == 303
    done = await client.get(answer.headers["location"])
    assert done.status_code == 200
    assert "受付がお済みのため" in done.text
    assert "Content-Security-Policy" in done.headers
    assert (await _booking(db, came.id)).status == "confirmed"


async def test_staff_cannot_cancel_one_checked_in_booking_or_walk_in(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers, _, came, walk_in, _ = await _day_with_check_ins(client, db)
    for booking_id in (came.id, walk_in):
        url = f"/api/v1/manage/bookings/{booking_id}/cancel"
        r = await client.post(url, json={"reason": "本人の申し出"}, headers=headers)
        assert r.status_code == 409, r.text
        assert r.json()["error"] == "booking_checked_in"
        assert "先に受付を取り消して" in r.json()["message"]
        assert (await _booking(db, booking_id)).status == "confirmed"
    # Checked in by mistake: undo the check-in, then the cancel goes through.
    r = await client.delete(f"/api/v1/manage/bookings/{walk_in}/check-in", headers=headers)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/manage/bookings/{walk_in}/cancel", json={"reason": "誤登録"}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert (await _booking(db, walk_in)).status == "cancelled"


async def test_console_cancel_of_checked_in_booking_explains(
    client: AsyncClient, db: AsyncSession
) -> None:
    _, session_id, came, _, _ = await _day_with_check_ins(client, db)
    await web_login(client, db, await make_staff(db, "organizer"))
    roster = await client.get(f"/manage/sessions/{session_id}")
    assert f"/manage/bookings/{came.id}/cancel" not in roster.text
    r = await post_form(client, f"/manage/bookings/{came.id}/cancel", {"reason": "本人の申し出"})
    assert r.status_code == 409
    assert "先に受付を取り消して" in r.text
    assert (await _booking(db, came.id)).status == "confirmed"


async def _assert_all_cancelled_with_history(
    db: AsyncSession, session_id: int, checked_in: list[int], everyone: list[int]
) -> None:
    for booking_id in everyone:
        row = await _booking(db, booking_id)
        assert row.status == "cancelled" and row.cancelled_at is not None
        assert (row.checked_in_at is not None) == (booking_id in checked_in)
    assert sorted(await _notices(db, session_id)) == sorted(everyone)
    status = await db.scalar(text("SELECT status FROM sessions WHERE id = :s"), {"s": session_id})
    assert status == "cancelled"
    seats_held = await db.scalar(
        text("SELECT count(*) FROM session_seats WHERE session_id = :s AND booking_id IS NOT NULL"),
        {"s": session_id},
    )
    assert seats_held == 0


async def test_session_cancelled_on_its_day_api(client: AsyncClient, db: AsyncSession) -> None:
    headers, session_id, came, walk_in, later = await _day_with_check_ins(client, db)
    r = await client.post(
        f"/api/v1/manage/sessions/{session_id}/cancel",
        json={"reason": "会場の浸水のため"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["cancelled_bookings"] == 3
    await _assert_all_cancelled_with_history(
        db, session_id, [came.id, walk_in], [came.id, walk_in, later.id]
    )


async def test_session_cancelled_on_its_day_console(client: AsyncClient, db: AsyncSession) -> None:
    _, session_id, came, walk_in, later = await _day_with_check_ins(client, db)
    await web_login(client, db, await make_staff(db, "organizer"))
    r = await post_form(client, f"/manage/sessions/{session_id}/cancel", {"reason": "浸水"})
    assert r.status_code == 303, r.text
    await _assert_all_cancelled_with_history(
        db, session_id, [came.id, walk_in], [came.id, walk_in, later.id]
    )


async def test_event_cancelled_on_its_day_api_and_console(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers, session_id, came, walk_in, later = await _day_with_check_ins(client, db)
    event_id = await db.scalar(
        text("SELECT event_id FROM sessions WHERE id = :s"), {"s": session_id}
    )
    r = await client.post(
        f"/api/v1/manage/events/{event_id}/cancel", json={"reason": "台風のため"}, headers=headers
    )
    assert r.status_code == 200, r.text
    await _assert_all_cancelled_with_history(
        db, session_id, [came.id, walk_in], [came.id, walk_in, later.id]
    )

    headers, session_id, came, walk_in, later = await _day_with_check_ins(client, db)
    event_id = await db.scalar(
        text("SELECT event_id FROM sessions WHERE id = :s"), {"s": session_id}
    )
    await web_login(client, db, await make_staff(db, "organizer"))
    r = await post_form(client, f"/manage/events/{event_id}/cancel", {"reason": "台風のため"})
    assert r.status_code == 303, r.text
    await _assert_all_cancelled_with_history(
        db, session_id, [came.id, walk_in], [came.id, walk_in, later.id]
    )


async def test_started_session_is_not_cancelled_and_keeps_attendance(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers, session_id, came, _, _ = await _day_with_check_ins(client, db)
    await move_session(db, session_id, starts_in=timedelta(minutes=-10))
    r = await client.post(
        f"/api/v1/manage/sessions/{session_id}/cancel",
        json={"reason": "途中で中止"},
        headers=headers,
    )
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "session_started"
    row = await _booking(db, came.id)
    assert row.status == "confirmed" and row.checked_in_at is not None
