"""Every query on persons and their merges (and the reads of what links to a person)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Select,
    String,
    Text,
    cast,
    column,
    func,
    literal,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.models import Booking
from service.domain.outbox_repository import notifications
from service.domain.people.models import Person, PersonMerge
from service.domain.people.schemas import BookingLine, Consent, PersonView

# Sessions, events and venues belong to the events area, the call list to the notifications
# area: both are above this one (.importlinter), so only the columns used here are named (the
# notices' table once, in service.domain.outbox_repository).
_sessions = table(
    "sessions",
    column("id", BigInteger),
    column("event_id", BigInteger),
    column("venue_id", BigInteger),
    column("starts_at", DateTime(timezone=True)),
    column("ends_at", DateTime(timezone=True)),
)
_events = table("events", column("id", BigInteger), column("title", String))
_venues = table("venues", column("id", BigInteger), column("name", String))
_call_tasks = table(
    "call_tasks",
    column("booking_id", BigInteger),
    column("state", String),
    column("closed_at", DateTime(timezone=True)),
)


def view(p: Person) -> PersonView:
    return PersonView(
        id=p.id,
        name=p.name,
        name_kana=p.name_kana,
        phone=p.phone,
        phone_alt=p.phone_alt,
        email=p.email,
        postal_code=p.postal_code,
        address=p.address,
        age_band=p.age_band,
        birth_year=p.birth_year,
        ward=p.ward,
        interests=tuple(p.interests or ()),
        contact_by=tuple(p.contact_by or ()),
        consent=Consent(
            privacy=p.consent_privacy,
            news=p.consent_news,
            version=p.consent_version,
            agreed_at=p.consent_agreed_at,
            withdrawn_at=p.withdrawn_at,
        ),
        registered_via=p.registered_via,
        created_at=p.created_at,
        last_active_at=p.last_active_at,
    )


def _booking_lines(person_id: int) -> Select[*tuple[Any, ...]]:
    """The person's bookings as BookingLine's fields."""
    b, se = Booking, _sessions.c
    return (
        select(
            b.id,
            b.code,
            b.status,
            b.waitlist_position,
            _events.c.title.label("event_title"),
            se.starts_at,
            se.ends_at,
            _venues.c.name.label("venue_name"),
            b.checked_in_at.is_not(None).label("checked_in"),
            b.no_show_at.is_not(None).label("no_show"),
            b.party_size,
        )
        .select_from(b)
        .join(_sessions, se.id == b.session_id)
        .join(_events, _events.c.id == se.event_id)
        .join(_venues, _venues.c.id == se.venue_id)
        .where(b.person_id == person_id)
    )


def _bookings_of(person_id: int) -> Select[int]:
    return select(Booking.id).where(Booking.person_id == person_id)


class PeopleRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def add(self, person: Person) -> Person:
        self.db.add(person)
        await self.db.flush()
        await self.db.refresh(person)
        return person

    async def get(self, person_id: int, *, lock: bool = False) -> Person | None:
        stmt = select(Person).where(Person.id == person_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.db.scalars(stmt)).one_or_none()

    async def refresh(self, person: Person) -> None:
        await self.db.flush()
        await self.db.refresh(person)

    async def by_phone_and_kana(self, phone: str, kana_key: str) -> Person | None:
        stmt = (
            select(Person)
            .where(
                Person.kana_key == kana_key,
                (Person.phone == phone) | (Person.phone_alt == phone),
            )
            .order_by(Person.id)
            .limit(1)
        )
        return (await self.db.scalars(stmt)).one_or_none()

    async def search(
        self, words: str, phone: str | None, code: str | None, limit: int
    ) -> list[Person]:
        """By booking code, phone number, name or kana (a part of it)."""
        like = f"%{_escape_like(words)}%"
        # A phone or code not given adds no condition (compared with NULL, it matched nothing).
        found_by: list[Any] = []
        if phone is not None:
            found_by.append((Person.phone == phone) | (Person.phone_alt == phone))
        if code is not None:
            found_by.append(
                Person.id.in_(
                    select(Booking.person_id).where(
                        Booking.code == code, Booking.person_id.is_not(None)
                    )
                )
            )
        found_by += [
            Person.name.ilike(like),
            Person.name_kana.ilike(like),
            Person.kana_key.ilike(f"%{_escape_like(words.replace(' ', ''))}%"),
        ]
        rows = await self.db.scalars(
            select(Person.id)
            .where(or_(*found_by))
            .order_by(Person.kana_key, Person.id)
            .limit(limit)
        )
        ids = list(rows.all())
        if not ids:
            return []
        found = await self.db.scalars(select(Person).where(Person.id.in_(ids)))
        by_id = {p.id: p for p in found.all()}
        return [by_id[i] for i in ids if i in by_id]

    async def recent(self, limit: int) -> list[Person]:
        rows = await self.db.scalars(select(Person).order_by(Person.id.desc()).limit(limit))
        return list(rows.all())

    async def link_booking(self, booking_id: int, person_id: int) -> bool:
        result = await self.db.execute(
            update(Booking)
            .where(Booking.id == booking_id, Booking.purged_at.is_(None))
            .values(person_id=person_id)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def bookings(self, person_id: int) -> list[BookingLine]:
        rows = await self.db.execute(
            _booking_lines(person_id).order_by(_sessions.c.starts_at.desc(), Booking.id.desc())
        )
        return [BookingLine(**dict(r._mapping)) for r in rows.all()]

    async def booking_of(self, person_id: int, booking_id: int) -> tuple[str, str] | None:
        row = (
            await self.db.execute(
                select(Booking.code, Booking.phone).where(
                    Booking.id == booking_id,
                    Booking.person_id == person_id,
                    Booking.purged_at.is_(None),
                )
            )
        ).one_or_none()
        return (str(row.code), str(row.phone)) if row else None

    async def person_of_booking(self, code: str, phone: str) -> int | None:
        """The person whose booking this is, when the phone is the one it was made with or
        one of the person's."""
        found = await self.db.scalar(
            select(Person.id)
            .select_from(Booking)
            .join(Person, Person.id == Booking.person_id)
            .where(
                Booking.code == code,
                Booking.purged_at.is_(None),
                or_(Booking.phone == phone, Person.phone == phone, Person.phone_alt == phone),
            )
        )
        return int(found) if found is not None else None

    async def duplicates_of(self, person: Person) -> list[Person]:
        """Probable duplicates: a phone in common, or the same kana and birth year or ward."""
        stmt = (
            select(Person)
            .where(
                Person.id != person.id,
                Person.withdrawn_at.is_(None),
            )
            .order_by(Person.id)
            .limit(20)
        )
        phones = [p for p in (person.phone, person.phone_alt) if p]
        conditions: list[Any] = []
        if phones:
            conditions.append(Person.phone.in_(phones) | Person.phone_alt.in_(phones))
        same_kana = Person.kana_key == person.kana_key
        if person.birth_year is not None:
            conditions.append(same_kana & (Person.birth_year == person.birth_year))
        if person.ward is not None:
            conditions.append(same_kana & (Person.ward == person.ward))
        if not conditions:
            return []
        cond = conditions[0]
        for c in conditions[1:]:
            cond = cond | c
        return list((await self.db.scalars(stmt.where(cond))).all())

    async def delete(self, person: Person) -> None:
        await self.db.delete(person)
        await self.db.flush()

    async def record_merge(
        self, kept_id: int, duplicate_id: int, moved: dict[str, int], staff_id: int | None
    ) -> None:
        self.db.add(
            PersonMerge(kept_id=kept_id, duplicate_id=duplicate_id, moved=moved, staff_id=staff_id)
        )
        await self.db.flush()

    async def merged_into(self, duplicate_id: int) -> int | None:
        return await self.db.scalar(
            select(PersonMerge.kept_id).where(PersonMerge.duplicate_id == duplicate_id)
        )

    async def touch(self, person_id: int, at: datetime) -> None:
        await self.db.execute(
            update(Person).where(Person.id == person_id).values(last_active_at=at)
        )

    async def scrub_booking_contacts(self, person_id: int) -> None:
        """A withdrawn person's bookings keep their counts; their phone and e-mail go as the
        retention purge removes them (the phone becomes a placeholder no one can type)."""
        await self.db.execute(
            update(Booking)
            .where(Booking.person_id == person_id)
            .values(email=None, phone=literal("-", String) + cast(Booking.id, Text))
            .execution_options(synchronize_session=False)
        )
        # Nothing queued for them goes out any more: pending mails are skipped and open calls
        # closed as declined (the person asked not to be contacted).
        n = notifications.c
        await self.db.execute(
            update(notifications)
            .where(n.status == "pending", n.booking_id.in_(_bookings_of(person_id)))
            .values(status="skipped", last_error="withdrawn")
        )
        ct = _call_tasks.c
        await self.db.execute(
            update(_call_tasks)
            .where(ct.state == "open", ct.booking_id.in_(_bookings_of(person_id)))
            .values(state="declined", closed_at=func.now())
        )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
