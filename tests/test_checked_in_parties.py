"""A checked-in party stays whole (issue 19, points 2 and 10).

Every companion cancel of a checked-in party is refused with 409 `booking_checked_in`: the
API, the look-up page's POST (its button is hidden, a hand-made POST is refused) and staff
before the session starts. Once it has started, staff may record that a companion did not
come: the party shrinks, the seat stays, nobody is promoted. Undoing a check-in on a cancelled
session is refused, as checking in there is."""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_session
from tests.manage_support import (
    bearer,
    issue_token,
    later_today,
    make_staff,
    move_session,
    post_form,
    web_login,
)
from tests.test_pages_public import submit

FOUR = {
    "name": "駿河 和子",
    "name_kana": "するが かずこ",
    "phone": "054-254-0004",
    "companions": [
        {"name": "駿河 一郎", "name_kana": "するが いちろう"},
        {"name": "駿河 二郎", "name_kana": "するが じろう"},
        {"name": "駿河 三郎", "name_kana": "するが さぶろう"},
    ],
}
WAITING = {"name": "待合 花子", "name_kana": "まちあい はなこ", "phone": "054-254-0099"}


async def _party_checked_in(
    client: AsyncClient, db: AsyncSession
) -> tuple[dict[str, str], int, dict]:
    """A party of four, checked in, in a full session starting in an hour with one person
    waiting. Returns (staff headers, session id, the booking as the API gave it)."""
    headers = bearer(await issue_token(db, await make_staff(db, "organizer")))
    s = await make_session(db, capacity=4, waitlist_limit=5)
    await db.execute(text("UPDATE events SET max_companions = 3 WHERE id = :e"), {"e": s.event_id})
    await db.commit()
    r = await client.post(f"/api/v1/sessions/{s.id}/bookings", json=FOUR)
    assert r.status_code == 201, r.text
    booking = r.json()
    r = await client.post(f"/api/v1/sessions/{s.id}/bookings", json=WAITING)
    assert r.json()["status"] == "waitlisted"
    await move_session(db, s.id, starts_in=later_today())
    booking_id = await _id(db, booking["code"])
    r = await client.post(f"/api/v1/manage/bookings/{booking_id}/check-in", headers=headers)
    assert r.status_code == 200, r.text
    return headers, s.id, booking


async def _id(db: AsyncSession, code: str) -> int:
    await db.rollback()
    return int(
        await db.scalar(
            text("SELECT id FROM bookings WHERE code = :c"), {"c": code.replace("-", "")}
        )
        or 0
    )


async def _state(db: AsyncSession, session_id: int) -> tuple[int, int, int]:
    """(party size of the checked-in party, seats it holds, people confirmed in all)."""
    await db.rollback()
    row = (
        await db.execute(
            text("""
            SELECT b.party_size,
                   (SELECT count(*) FROM session_seats s WHERE s.booking_id = b.id) AS seats,
                   (SELECT count(*) FROM bookings o
                     WHERE o.session_id = b.session_id AND o.status = 'confirmed') AS confirmed
            FROM bookings b WHERE b.session_id = :s AND b.checked_in_at IS NOT NULL
        """),
            {"s": session_id},
        )
    ).one()
    return int(row.party_size), int(row.seats), int(row.confirmed)


async def test_every_companion_cancel_of_a_checked_in_party_is_refused(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers, session_id, booking = await _party_checked_in(client, db)
    code, phone = booking["code"], FOUR["phone"]
    r = await client.post(f"/api/v1/bookings/{code}/companions/2/cancel", json={"phone": phone})
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "booking_checked_in"
    # The look-up page hides the button; a POST made by hand is refused all the same.
    form = await client.get("/bookings/lookup")
    details = await submit(client, form, "/bookings/lookup", {"code": code, "phone": phone})
    assert "受付がお済み" in details.text
    # Neither the question step (a hand-made link) nor its answer posted by hand go through.
    question = await client.get(
        "/bookings/cancel-companion", params={"g": details.url.params["g"], "position": "1"}
    )
    assert "同伴者の方の取り消しはできません" in question.text
    answer = await submit(
        client,
        form,
        "/bookings/cancel-companion/complete",
        {"g": details.url.params["g"], "position": "1"},
    )
    assert "同伴者の方の取り消しはできません" in answer.text
    # The staff API and console before the start.
    booking_id = await _id(db, code)
    r = await client.post(
        f"/api/v1/manage/bookings/{booking_id}/companions/3/cancel", headers=headers
    )
    assert r.status_code == 409 and r.json()["error"] == "booking_checked_in", r.text
    await web_login(client, db, await make_staff(db, "organizer"))
    page = await post_form(client, f"/manage/bookings/{booking_id}/companions/1/cancel")
    assert page.status_code == 409
    assert await _state(db, session_id) == (4, 4, 1)


async def test_staff_record_an_absent_companion_after_the_start_keeping_the_seat(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers, session_id, booking = await _party_checked_in(client, db)
    await move_session(db, session_id, starts_in=timedelta(minutes=-10))
    booking_id = await _id(db, booking["code"])
    r = await client.post(
        f"/api/v1/manage/bookings/{booking_id}/companions/2/cancel", headers=headers
    )
    assert r.status_code == 200, r.text
    # Three came; the fourth seat stays the party's and nobody waiting is moved up.
    assert await _state(db, session_id) == (3, 4, 1)
    action = await db.scalar(
        text("SELECT action FROM audit_log WHERE entity_id = :b ORDER BY id DESC LIMIT 1"),
        {"b": booking_id},
    )
    assert action == "booking.companion_absent"
    # The holder still cannot (the session has started, and the party is checked in).
    r = await client.post(
        f"/api/v1/bookings/{booking['code']}/companions/1/cancel", json={"phone": FOUR["phone"]}
    )
    assert r.status_code == 409 and r.json()["error"] == "booking_checked_in"


async def test_undoing_a_check_in_on_a_cancelled_session_is_refused(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers, session_id, booking = await _party_checked_in(client, db)
    r = await client.post(
        f"/api/v1/manage/sessions/{session_id}/cancel", json={"reason": "台風"}, headers=headers
    )
    assert r.status_code == 200, r.text
    booking_id = await _id(db, booking["code"])
    r = await client.delete(f"/api/v1/manage/bookings/{booking_id}/check-in", headers=headers)
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "session_cancelled"
    await db.rollback()
    checked_in = await db.scalar(
        text("SELECT checked_in_at FROM bookings WHERE id = :b"), {"b": booking_id}
    )
    assert checked_in is not None


async def test_the_console_asks_about_an_absent_companion_only_after_the_start(
    client: AsyncClient, db: AsyncSession
) -> None:
    """The companion button of a checked-in party: before the start the page says why nothing
    can be done (no question that is always refused); after it, the question is about an
    absence (seat kept, nobody moved up), not 「取り消し」 with 「繰り上がります」."""
    _, session_id, booking = await _party_checked_in(client, db)
    booking_id = await _id(db, booking["code"])
    await web_login(client, db, await make_staff(db, "organizer", username="desk2"))
    url = f"/manage/bookings/{booking_id}/companions/2/cancel"
    shown = await client.get(f"/manage/bookings/{booking_id}")
    assert f'href="{url}"' not in shown.text
    before = await client.get(url)
    assert before.status_code == 200
    assert "回が始まってから記録できます" in before.text
    assert "取り消しますか" not in before.text and f'action="{url}"' not in before.text

    await move_session(db, session_id, starts_in=timedelta(minutes=-10))
    shown = await client.get(f"/manage/bookings/{booking_id}")
    assert f'href="{url}"' in shown.text and "さんは欠席" in shown.text
    question = await client.get(url)
    assert "欠席として記録しますか" in question.text
    assert "繰り上がります" not in question.text and "繰り上げはありません" in question.text
    assert await _state(db, session_id) == (4, 4, 1)  # asking changed nothing
    done = await post_form(client, url)
    assert done.status_code == 303
    assert await _state(db, session_id) == (3, 4, 1)
