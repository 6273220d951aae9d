"""Integrity errors are mapped by the constraint's name, in one place
(service.domain.bookings.errors.for_violation): real violations, read from PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import errors
from service.domain.bookings import service as bookings
from tests.factories import make_session, person


async def _violation(db: AsyncSession, sql: str, params: dict[str, object]) -> IntegrityError:
    with pytest.raises(IntegrityError) as info:
        await db.execute(text(sql), params)
    await db.rollback()
    return info.value


async def test_known_constraints_have_their_meaning_others_none(db: AsyncSession) -> None:
    s = await make_session(db, capacity=2)
    sid = s.id  # a rollback below expires the ORM object
    first = await bookings.book(db, sid, person(1))
    await db.commit()
    same_code = await _violation(
        db,
        "INSERT INTO bookings (code, session_id, person_id, status, channel, phone, "
        "cancelled_at) SELECT code, session_id, person_id, 'cancelled', channel, '0900000000', "
        "now() FROM bookings WHERE id = :b",
        {"b": first.id},
    )
    meaning = errors.for_violation(same_code)
    assert meaning is not None and meaning.code == "try_again"

    same_phone = await _violation(
        db,
        "INSERT INTO bookings (code, session_id, person_id, status, channel, phone) "
        "SELECT 'ZZZZZZZZZZ', session_id, person_id, 'confirmed', channel, phone "
        "FROM bookings WHERE id = :b",
        {"b": first.id},
    )
    meaning = errors.for_violation(same_phone)
    assert meaning is not None and meaning.code == "already_booked"

    bad_seat = await _violation(
        db, "INSERT INTO session_seats (session_id, seat_no) VALUES (:s, 0)", {"s": sid}
    )
    assert errors.for_violation(bad_seat) is None  # a bug, not something to tell people
