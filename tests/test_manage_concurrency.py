"""Two tablets at one door: concurrent walk-ins never take more seats than there are, and a
double tap checks a person in once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from tests.factories import make_session
from tests.manage_support import bearer, issue_token, make_staff, move_session, person


async def test_concurrent_walk_ins_never_oversell(client: AsyncClient, db: AsyncSession) -> None:
    headers = bearer(await issue_token(db, await make_staff(db, "organizer")))
    s = await make_session(db, capacity=3, waitlist_limit=0)
    await move_session(db, s.id, starts_in=timedelta(seconds=-1))
    url = f"/api/v1/manage/sessions/{s.id}/walk-ins"

    def walker(n: int) -> dict[str, object]:
        return {"name": f"当日 {n}", "name_kana": "トウジツ", "phone": f"0901111{n:04d}"}

    answers = await asyncio.gather(
        *(client.post(url, json=walker(n), headers=headers) for n in range(12))
    )
    assert Counter(r.status_code for r in answers) == {201: 3, 409: 9}
    assert {r.json()["error"] for r in answers if r.status_code == 409} == {"session_full"}
    seated = await db.scalar(
        text("SELECT count(*) FROM session_seats WHERE session_id = :s AND booking_id IS NOT NULL"),
        {"s": s.id},
    )
    live = await db.scalar(
        text("SELECT count(*) FROM bookings WHERE session_id = :s AND status = 'confirmed'"),
        {"s": s.id},
    )
    assert seated == live == 3
    # With the override, everyone at the door gets in, and each is marked.
    more = await asyncio.gather(
        *(
            client.post(url, json={**walker(n), "override": True}, headers=headers)
            for n in range(20, 25)
        )
    )
    assert {r.status_code for r in more} == {201}
    overrides = await db.scalar(
        text("SELECT count(*) FROM bookings WHERE session_id = :s AND capacity_override"),
        {"s": s.id},
    )
    assert overrides == 5


async def test_a_double_tap_checks_in_once(client: AsyncClient, db: AsyncSession) -> None:
    headers = bearer(await issue_token(db, await make_staff(db, "organizer")))
    s = await make_session(db, capacity=2)
    booked = await bookings.book(db, s.id, person(1))
    await db.commit()
    await move_session(db, s.id, starts_in=timedelta(seconds=-1))
    url = f"/api/v1/manage/bookings/{booked.id}/check-in"
    taps = await asyncio.gather(*(client.post(url, headers=headers) for _ in range(6)))
    assert {r.status_code for r in taps} == {200}
    assert len({r.json()["checked_in_at"] for r in taps}) == 1
    entries = await db.scalar(
        text("SELECT count(*) FROM audit_log WHERE action = 'booking.check_in'")
    )
    assert entries == 1
