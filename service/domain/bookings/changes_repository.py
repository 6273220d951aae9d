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

from service.domain.bookings.repository import PERSON_UPSERT
from service.domain.bookings.schemas import ValidBooking, ValidCompanion
from service.domain.privacy import PRIVACY_VERSION

# The booking points at the person its details name, by the rule a new booking follows
# (repository.py's person CTE: this phone or a second phone with the same reading, never a
# withdrawn person; a corrected name updates that person, a corrected reading or phone finds the
# person already known or makes one).
_DETAILS = text(f"""
WITH {PERSON_UPSERT.format(source="(SELECT 1) AS one")}
UPDATE bookings SET person_id = person.id, phone = :phone, email = CAST(:email AS text),
       needs = CAST(:needs AS text), heard_from = CAST(:heard_from AS text)
FROM person WHERE bookings.id = :id
RETURNING bookings.person_id
""")  # noqa: S608 - constant fragments; values are bind parameters


class ChangeRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def profile(self, booking_id: int) -> dict[str, str | None]:
        """What the booking holds for the programme's figures: the person's 年代 and 区, and
        how they heard of the event."""
        row = (
            await self.db.execute(
                text("""
                SELECT p.age_band, p.ward, b.heard_from
                FROM bookings b LEFT JOIN persons p ON p.id = b.person_id
                WHERE b.id = :id
            """),
                {"id": booking_id},
            )
        ).one()
        return {"age_band": row.age_band, "ward": row.ward, "heard_from": row.heard_from}

    async def set_details(self, booking_id: int, data: ValidBooking, changed: set[str]) -> None:
        """The booking's details as `data`; the person's 年代 and 区 only when they are among
        `changed` (then as given, a clear included): the values a booking carried over must
        not overwrite those of a person the corrected phone or reading finds."""
        person_id = await self.db.scalar(
            _DETAILS,
            {
                "id": booking_id,
                "name": data.name,
                "name_kana": data.name_kana,
                "phone": data.phone,
                "email": data.email,
                "age_band": data.age_band if "age_band" in changed else None,
                "ward": data.ward if "ward" in changed else None,
                "heard_from": data.heard_from,
                "needs": data.needs,
                "consent_version": PRIVACY_VERSION,
            },
        )
        if changed & {"age_band", "ward"}:
            await self.db.execute(
                text("""
                UPDATE persons SET
                    age_band = CASE WHEN :set_age THEN CAST(:age_band AS text) ELSE age_band END,
                    ward = CASE WHEN :set_ward THEN CAST(:ward AS text) ELSE ward END,
                    updated_at = now()
                WHERE id = :person_id
            """),
                {
                    "person_id": person_id,
                    "set_age": "age_band" in changed,
                    "age_band": data.age_band,
                    "set_ward": "ward" in changed,
                    "ward": data.ward,
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

    async def carry_sequence(self, booking_id: int, from_id: int, to_id: int) -> None:
        """Before a move: the offset that gives the booking, in `to_id`, at least the SEQUENCE
        it had in `from_id` (the change notice then raises it by one)."""
        await self.db.execute(
            text("""
            UPDATE bookings b SET calendar_sequence_offset = greatest(
                old.revision + b.calendar_sequence_offset - new.revision, 0)
            FROM sessions old, sessions new
            WHERE b.id = :id AND old.id = :from_id AND new.id = :to_id
        """),
            {"id": booking_id, "from_id": from_id, "to_id": to_id},
        )

    async def raise_sequence(self, booking_id: int) -> None:
        await self.db.execute(
            text(
                "UPDATE bookings SET calendar_sequence_offset = calendar_sequence_offset + 1 "
                "WHERE id = :id"
            ),
            {"id": booking_id},
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
