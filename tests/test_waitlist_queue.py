"""The late comer's one statement onto a waiting list someone is already on (QUEUE_SQL): it
checks the booking gate itself, under the session row's lock, because the service takes it
without locking the session first. Each change below, made between the first statement and
this one, must leave no slot (the service then takes the slow path, which names the reason)
and write nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.bookings.repository import BookingRepository
from service.domain.bookings.schemas import ValidBooking, ValidCompanion
from service.domain.errors import Conflict
from tests.factories import make_session, person

Change = Callable[[AsyncSession, int], Awaitable[object]]


async def _sql(db: AsyncSession, sql: str, session_id: int) -> None:
    await db.execute(text(sql), {"s": session_id})


CHANGES: dict[str, tuple[Change, ValidBooking]] = {
    "session cancelled": (
        lambda db, s: _sql(db, "UPDATE sessions SET status = 'cancelled' WHERE id = :s", s),
        person(10),
    ),
    "event unpublished": (
        lambda db, s: _sql(
            db,
            "UPDATE events SET status = 'draft' WHERE id = (SELECT event_id FROM sessions "
            "WHERE id = :s)",
            s,
        ),
        person(10),
    ),
    "booking closed": (
        lambda db, s: _sql(
            db,
            "UPDATE sessions SET booking_closes_at = now() - interval '1 minute' WHERE id = :s",
            s,
        ),
        person(10),
    ),
    "booking not yet open": (
        lambda db, s: _sql(
            db, "UPDATE sessions SET booking_opens_at = now() + interval '1 day' WHERE id = :s", s
        ),
        person(10),
    ),
    "waiting list full": (
        lambda db, s: _sql(db, "UPDATE sessions SET waitlist_limit = 1 WHERE id = :s", s),
        person(10),
    ),
    "nobody waits any more": (
        lambda db, s: _sql(
            db,
            "WITH gone AS (UPDATE bookings SET status = 'cancelled', waitlist_position = NULL, "
            "cancelled_at = now() "
            "WHERE session_id = :s AND status = 'waitlisted') "
            "UPDATE sessions SET waitlist_count = 0 WHERE id = :s",
            s,
        ),
        person(10),
    ),
    "the same phone waits already": (
        lambda db, s: _sql(db, "SELECT CAST(:s AS bigint)", s),
        person(2),
    ),
    "a party bigger than the event takes": (
        lambda db, s: _sql(
            db,
            "UPDATE events SET max_companions = 0 WHERE id = (SELECT event_id FROM sessions "
            "WHERE id = :s)",
            s,
        ),
        replace(person(10), companions=(ValidCompanion("静岡 花子", "シズオカ ハナコ"),)),
    ),
}


async def _waiting_list_of_one(db: AsyncSession) -> int:
    s = await make_session(db, capacity=1, waitlist_limit=5)
    for n in (1, 2):
        await bookings.book(db, s.id, person(n))
        await db.commit()
    return s.id


async def _counts(db: AsyncSession) -> tuple[int, int, int]:
    row = (
        await db.execute(
            text(
                "SELECT (SELECT count(*) FROM bookings), (SELECT count(*) FROM persons), "
                "(SELECT count(*) FROM notifications)"
            )
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def test_a_late_comer_queues_in_one_statement_at_the_end(db: AsyncSession) -> None:
    sid = await _waiting_list_of_one(db)
    joined = await BookingRepository(db).join_waitlist(
        sid, "000000000777", person(3), "web", None, queue=True
    )
    assert joined is not None
    assert joined[2] == 2
    await db.commit()
    rows = await db.execute(
        text(
            "SELECT waitlist_position, person_id IS NOT NULL FROM bookings "
            "WHERE session_id = :s AND status = 'waitlisted' ORDER BY waitlist_position"
        ),
        {"s": sid},
    )
    assert [tuple(r) for r in rows] == [(1, True), (2, True)]
    assert (
        await db.scalar(text("SELECT waitlist_count FROM sessions WHERE id = :s"), {"s": sid}) == 2
    )


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_the_queue_statement_checks_the_gate_itself(db: AsyncSession, change: str) -> None:
    sid = await _waiting_list_of_one(db)
    alter, who = CHANGES[change]
    await alter(db, sid)
    await db.commit()
    before = await _counts(db)
    joined = await BookingRepository(db).join_waitlist(
        sid, "000000000888", who, "web", None, queue=True
    )
    assert joined is None
    assert await _counts(db) == before
    await db.rollback()


async def test_through_the_service_a_refused_late_comer_hears_why(db: AsyncSession) -> None:
    """The gate fails only for the statement (the first one saw an open session): the service
    takes the slow path and names the reason, as before."""
    sid = await _waiting_list_of_one(db)
    with pytest.raises(Conflict) as info:
        await bookings.book(db, sid, person(2))
    assert info.value.code == "already_booked"
    await db.rollback()
    view = await bookings.book(db, sid, person(3))
    await db.commit()
    assert (view.status, view.waitlist_position) == ("waitlisted", 2)


async def test_a_freed_seat_stays_held_for_the_waiting(db: AsyncSession) -> None:
    """While someone waits, a late comer queues even when a seat is free (it is being held
    for the first in line), as the slow path decides."""
    sid = await _waiting_list_of_one(db)
    await db.execute(
        text("UPDATE session_seats SET booking_id = NULL WHERE session_id = :s"), {"s": sid}
    )
    await db.commit()
    view = await bookings.book(db, sid, person(3))
    await db.commit()
    assert (view.status, view.waitlist_position) == ("waitlisted", 2)


async def test_a_session_that_has_started_takes_no_late_comer(db: AsyncSession) -> None:
    """A session whose start has passed takes no late comer either."""
    sid = await _waiting_list_of_one(db)
    await db.execute(
        text(
            "UPDATE sessions SET starts_at = now() - interval '1 minute', "
            "ends_at = now() + interval '1 hour', booking_opens_at = now() - interval '2 days', "
            "booking_closes_at = now() + interval '1 hour' WHERE id = :s"
        ),
        {"s": sid},
    )
    await db.commit()
    joined = await BookingRepository(db).join_waitlist(
        sid, "000000000999", person(4), "web", None, queue=True
    )
    assert joined is None
    await db.rollback()
