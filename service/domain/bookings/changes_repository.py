"""The queries behind staff changes to a booking (service/domain/bookings/changes.py): the
person's details, the party's companions, its seats, and a move to another session.

Every statement here runs under the locks changes.py takes first: the session row(s)
(FOR NO KEY UPDATE, as every change to a session's seats and waiting list) and then the
booking row (FOR UPDATE). Seats are only ever taken with BookingRepository.free_seats
(SKIP LOCKED, see repository.py's docstring).

Its statements are text() on no benchmark's path (`make bench` changes no booking): not yet
converted to Core (issue 21 point 5), the booking area being left out of that round.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.schemas import ValidBooking, ValidCompanion

# The booking points at the person its (phone, reading) names, as a new booking would: a
# corrected name updates that person, a corrected reading or phone finds or makes another.
_DETAILS = text("""
WITH person AS (
    INSERT INTO persons (name, name_kana, phone, email)
    VALUES (:name, :name_kana, :phone, CAST(:email AS text))
    ON CONFLICT (phone, kana_key) DO UPDATE SET
        name = EXCLUDED.name,
        email = COALESCE(EXCLUDED.email, persons.email),
        updated_at = now()
    RETURNING id
)
UPDATE bookings SET person_id = person.id, phone = :phone, email = CAST(:email AS text),
       needs = CAST(:needs AS text)
FROM person WHERE bookings.id = :id
RETURNING bookings.id
""")


class ChangeRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def set_details(self, booking_id: int, data: ValidBooking) -> None:
        await self.db.execute(
            _DETAILS,
            {
                "id": booking_id,
                "name": data.name,
                "name_kana": data.name_kana,
                "phone": data.phone,
                "email": data.email,
                "needs": data.needs,
            },
        )

    async def cancel_companions(self, booking_id: int, positions: list[int]) -> None:
        if positions:
            await self.db.execute(
                text("""
                UPDATE booking_companions SET cancelled_at = now()
                WHERE booking_id = :id AND position = ANY(:positions) AND cancelled_at IS NULL
            """),
                {"id": booking_id, "positions": positions},
            )

    async def add_companions(self, booking_id: int, companions: list[ValidCompanion]) -> None:
        """New companions after every position used so far (cancelled ones stay as history)."""
        if not companions:
            return
        await self.db.execute(
            text("""
            INSERT INTO booking_companions (booking_id, name, name_kana, position)
            SELECT :id, c.name, c.kana,
                   (SELECT coalesce(max(position), 0) FROM booking_companions
                    WHERE booking_id = :id) + c.n
            FROM unnest(CAST(:names AS text[]), CAST(:kanas AS text[]))
                 WITH ORDINALITY AS c(name, kana, n)
        """),
            {
                "id": booking_id,
                "names": [c.name for c in companions],
                "kanas": [c.name_kana for c in companions],
            },
        )

    async def set_party_size(self, booking_id: int, size: int) -> None:
        await self.db.execute(
            text("UPDATE bookings SET party_size = :n WHERE id = :id"),
            {"id": booking_id, "n": size},
        )

    async def take_seats(self, booking_id: int, seat_ids: list[int]) -> None:
        await self.db.execute(
            text("UPDATE session_seats SET booking_id = :bid WHERE id = ANY(:seats)"),
            {"bid": booking_id, "seats": seat_ids},
        )

    async def release_seats(self, booking_id: int, count: int) -> int:
        """The party's `count` highest-numbered seats go back; returns how many did."""
        rows = await self.db.scalars(
            text("""
            UPDATE session_seats SET booking_id = NULL WHERE id IN (
                SELECT id FROM session_seats WHERE booking_id = :id
                ORDER BY seat_no DESC LIMIT :n)
            RETURNING id
        """),
            {"id": booking_id, "n": count},
        )
        return len(list(rows))

    async def next_waitlist_position(self, session_id: int) -> int | None:
        """Takes the next place at the end of the session's waiting list; None when it is full."""
        value = await self.db.scalar(
            text("""
            UPDATE sessions SET waitlist_count = waitlist_count + 1
            WHERE id = :sid AND waitlist_count < waitlist_limit
            RETURNING waitlist_count
        """),
            {"sid": session_id},
        )
        return int(value) if value is not None else None

    async def place(
        self, booking_id: int, session_id: int, status: str, position: int | None
    ) -> None:
        """The booking's session and place in it: confirmed (seats taken separately) or
        waitlisted at `position`. The live-booking unique indexes refuse a person already
        booked in that session (errors.for_violation: already_booked)."""
        await self.db.execute(
            text("""
            UPDATE bookings SET session_id = :sid, status = CAST(:status AS text),
                   waitlist_position = :pos,
                   confirmed_at = CASE WHEN CAST(:status AS text) = 'confirmed' THEN now() END,
                   waitlisted_at = CASE WHEN CAST(:status AS text) = 'waitlisted' THEN now()
                                        ELSE waitlisted_at END,
                   capacity_override = false
            WHERE id = :id
        """),
            {"id": booking_id, "sid": session_id, "status": status, "pos": position},
        )

    async def add_change_notice(
        self, booking_id: int, dedup_key: str, payload: dict[str, Any]
    ) -> int:
        value = await self.db.scalar(
            text("""
            INSERT INTO notifications (booking_id, kind, dedup_key, payload)
            VALUES (:bid, 'booking_changed', :key, CAST(:payload AS jsonb)) RETURNING id
        """),
            {
                "bid": booking_id,
                "key": dedup_key,
                "payload": json.dumps(payload, ensure_ascii=False),
            },
        )
        return int(value)
