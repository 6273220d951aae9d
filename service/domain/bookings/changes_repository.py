"""The queries behind staff changes to a booking (service/domain/bookings/changes.py): the
person's details, the party's companions, its seats, and a move to another session.

Every statement here runs under the locks changes.py takes first: the session row(s)
(FOR NO KEY UPDATE, as every change to a session's seats and waiting list) and then the
booking row (FOR UPDATE). Seats are only ever taken with BookingRepository.free_seats
(SKIP LOCKED, see repository.py's docstring).

Core on the mapped tables (issue 21 point 5); the details' statement shares repository.py's
person rule (person_rule, see _DETAILS). The tables of areas above this one (persons,
sessions, seats, the notification outbox) are repository.py's table() columns, shared.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ScalarSelect,
    Select,
    Text,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.models import Booking, BookingCompanion
from service.domain.bookings.repository import (
    bookings,
    person_rule,
    persons,
    session_seats,
    sessions,
)
from service.domain.bookings.schemas import ValidBooking, ValidCompanion
from service.domain.outbox_repository import notifications
from service.domain.privacy import PRIVACY_VERSION


def _revision(session_id: int) -> ScalarSelect[int]:
    return select(sessions.c.revision).where(sessions.c.id == session_id).scalar_subquery()


# The booking points at the person its details name, by the rule a new booking follows
# (repository.py's person_rule: this phone or a second phone with the same reading, never a
# withdrawn person; a corrected name updates that person, a corrected reading or phone finds the
# person already known or makes one). The rule gives one row; it is named by subqueries rather
# than UPDATE ... FROM person, a join without a condition (SQLAlchemy's linter warns of it).
# Run by the session: SQLAlchemy's cache key for it costs about 0.16 ms of Python a change.
def _details() -> Select[tuple[int | None]]:
    person = person_rule(select(literal_column("1")).subquery("one"))
    b = bookings
    changed = (
        update(b)
        .where(b.c.id == bindparam("id"), exists(select(literal_column("1")).select_from(person)))
        .values(
            person_id=select(person.c.id).scalar_subquery(),
            phone=bindparam("phone"),
            email=cast(bindparam("email"), Text),
            needs=cast(bindparam("needs"), Text),
            heard_from=cast(bindparam("heard_from"), Text),
        )
        .returning(b.c.person_id)
        .cte("changed")
    )
    # A SELECT around the UPDATE, so that the values can be bound into it (.params()).
    return select(changed.c.person_id)


_DETAILS = _details()


class ChangeRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def profile(self, booking_id: int) -> dict[str, str | None]:
        """What the booking holds for the programme's figures: the person's 年代 and 区, and
        how they heard of the event."""
        row = (
            await self.db.execute(
                select(persons.c.age_band, persons.c.ward, Booking.heard_from)
                .select_from(Booking)
                .outerjoin(persons, persons.c.id == Booking.person_id)
                .where(Booking.id == booking_id)
            )
        ).one()
        return {"age_band": row.age_band, "ward": row.ward, "heard_from": row.heard_from}

    async def set_details(self, booking_id: int, data: ValidBooking, changed: set[str]) -> None:
        """The booking's details as `data`; the person's 年代 and 区 only when they are among
        `changed` (then as given, a clear included): the values a booking carried over must
        not overwrite those of a person the corrected phone or reading finds."""
        person_id = await self.db.scalar(
            # Bound into the statement (.params), not given to scalar(): SQLAlchemy would take
            # a key naming a column of an UPDATE in it (phone, name) for a value to SET there.
            _DETAILS.params(
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
        )
        if changed & {"age_band", "ward"}:
            # Only the items changed are set; the other keeps the person's value.
            values: dict[str, Any] = {"updated_at": func.now()}
            if "age_band" in changed:
                values["age_band"] = data.age_band
            if "ward" in changed:
                values["ward"] = data.ward
            await self.db.execute(update(persons).where(persons.c.id == person_id).values(values))

    async def cancel_companions(self, booking_id: int, positions: list[int]) -> None:
        if positions:
            await self.db.execute(
                update(BookingCompanion)
                .where(
                    BookingCompanion.booking_id == booking_id,
                    BookingCompanion.position.in_(positions),
                    BookingCompanion.cancelled_at.is_(None),
                )
                .values(cancelled_at=func.now())
            )

    async def add_companions(self, booking_id: int, companions: list[ValidCompanion]) -> None:
        """New companions after every position used so far (cancelled ones stay as history)."""
        if not companions:
            return
        new = (
            func.unnest(
                cast([c.name for c in companions], ARRAY(Text)),
                cast([c.name_kana for c in companions], ARRAY(Text)),
            )
            .table_valued("name", "kana", with_ordinality="n")
            .render_derived(name="c")
        )
        last = (
            select(func.coalesce(func.max(BookingCompanion.position), 0))
            .where(BookingCompanion.booking_id == booking_id)
            .scalar_subquery()
        )
        await self.db.execute(
            insert(BookingCompanion).from_select(
                ["booking_id", "name", "name_kana", "position"],
                select(literal(booking_id, BigInteger), new.c.name, new.c.kana, last + new.c.n),
            )
        )

    async def set_party_size(self, booking_id: int, size: int) -> None:
        await self.db.execute(
            update(Booking).where(Booking.id == booking_id).values(party_size=size)
        )

    async def take_seats(self, booking_id: int, seat_ids: list[int]) -> None:
        await self.db.execute(
            update(session_seats)
            .where(session_seats.c.id.in_(seat_ids))
            .values(booking_id=booking_id)
        )

    async def release_seats(self, booking_id: int, count: int) -> int:
        """The party's `count` highest-numbered seats go back; returns how many did."""
        held = session_seats.alias("held")
        chosen = (
            select(held.c.id)
            .where(held.c.booking_id == booking_id)
            .order_by(held.c.seat_no.desc())
            .limit(count)
        )
        rows = await self.db.scalars(
            update(session_seats)
            .where(session_seats.c.id.in_(chosen))
            .values(booking_id=None)
            .returning(session_seats.c.id)
        )
        return len(list(rows))

    async def next_waitlist_position(self, session_id: int) -> int | None:
        """Takes the next place at the end of the session's waiting list; None when it is full."""
        se = sessions
        value = await self.db.scalar(
            update(se)
            .where(se.c.id == session_id, se.c.waitlist_count < se.c.waitlist_limit)
            .values(waitlist_count=se.c.waitlist_count + 1)
            .returning(se.c.waitlist_count)
        )
        return int(value) if value is not None else None

    async def place(
        self, booking_id: int, session_id: int, status: str, position: int | None
    ) -> None:
        """The booking's session and place in it: confirmed (seats taken separately) or
        waitlisted at `position`. The live-booking unique indexes refuse a person already
        booked in that session (errors.for_violation: already_booked)."""
        values: dict[str, Any] = {
            "session_id": session_id,
            "status": status,
            "waitlist_position": position,
            # Cleared unless confirmed now; the time it last waited is kept unless it waits now.
            "confirmed_at": func.now() if status == "confirmed" else None,
            "capacity_override": False,
        }
        if status == "waitlisted":
            values["waitlisted_at"] = func.now()
        await self.db.execute(update(Booking).where(Booking.id == booking_id).values(values))

    async def carry_sequence(self, booking_id: int, from_id: int, to_id: int) -> None:
        """Before a move: the offset that gives the booking, in `to_id`, at least the SEQUENCE
        it had in `from_id` (the change notice then raises it by one)."""
        # Both sessions are there: the caller holds their locks (changes._lock). Their
        # revisions are subqueries rather than a FROM of two unrelated rows, which SQLAlchemy's
        # linter warns of as a cartesian product.
        old, new = _revision(from_id), _revision(to_id)
        await self.db.execute(
            update(Booking)
            .where(Booking.id == booking_id)
            .values(
                calendar_sequence_offset=func.greatest(
                    old + Booking.calendar_sequence_offset - new, 0
                )
            )
        )

    async def raise_sequence(self, booking_id: int) -> None:
        await self.db.execute(
            update(Booking)
            .where(Booking.id == booking_id)
            .values(calendar_sequence_offset=Booking.calendar_sequence_offset + 1)
        )

    async def add_change_notice(
        self, booking_id: int, dedup_key: str, payload: dict[str, Any]
    ) -> int:
        value = await self.db.scalar(
            insert(notifications)
            .values(
                booking_id=booking_id, kind="booking_changed", dedup_key=dedup_key, payload=payload
            )
            .returning(notifications.c.id)
        )
        return int(value)
