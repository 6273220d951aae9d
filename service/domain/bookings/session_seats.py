"""What other areas (the roster, the console's sessions, staff changes) need of a session's seats
and its lock, as functions of the bookings area: they never build its repository. The lock order
is the booking core's (the session, then its bookings), so a walk-in, a staff change and a
booking in a rush queue on the same row instead of deadlocking."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.repository import BookingRepository
from service.domain.bookings.schemas import ValidBooking


async def session_of(db: AsyncSession, booking_id: int) -> int | None:
    """The session a booking is on, or None when there is no such booking."""
    return await BookingRepository(db).session_of(booking_id)


async def lock_session(db: AsyncSession, session_id: int) -> bool:
    """Takes the session's lock for the rest of the transaction; False when it does not exist."""
    return await BookingRepository(db).lock_session(session_id) is not None


async def open_seats(db: AsyncSession, session_id: int, capacity: int) -> None:
    """The seats of a new session, numbered 1 to capacity."""
    await BookingRepository(db).add_seats(session_id, 1, capacity)


async def seat_walk_in(
    db: AsyncSession,
    session_id: int,
    code: str,
    valid: ValidBooking,
    staff_id: int,
    *,
    override: bool,
) -> tuple[int, int] | None:
    """A walk-in party confirmed at once, sitting together; with `override`, beyond the seats
    when none are free (never split). Returns (booking id, its notice id), or None when the
    party does not fit and there is no override. The caller holds the session's lock."""
    repo = BookingRepository(db)
    seats = await repo.free_seats(session_id, valid.party_size)
    if seats is None and not override:
        return None
    return await repo.confirm_directly(
        session_id, code, valid, "walk_in", staff_id, seat_ids=seats or []
    )
