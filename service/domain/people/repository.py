"""Every query on persons and their merges (and the reads of what links to a person)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.people.models import Person, PersonMerge
from service.domain.people.schemas import BookingLine, Consent, PersonView


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


_BOOKINGS = """
    SELECT b.id, b.code, b.status, b.waitlist_position, e.title AS event_title, se.starts_at,
           se.ends_at, v.name AS venue_name, b.checked_in_at IS NOT NULL AS checked_in,
           b.no_show_at IS NOT NULL AS no_show, b.party_size
    FROM bookings b JOIN sessions se ON se.id = b.session_id JOIN events e ON e.id = se.event_id
    JOIN venues v ON v.id = se.venue_id
    WHERE b.person_id = :person_id
"""


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
        rows = await self.db.scalars(
            text("""
                SELECT p.id FROM persons p
                WHERE (CAST(:phone AS text) IS NOT NULL
                       AND (p.phone = :phone OR p.phone_alt = :phone))
                   OR p.id IN (SELECT person_id FROM bookings
                               WHERE code = :code AND person_id IS NOT NULL)
                   OR p.name ILIKE :like OR p.name_kana ILIKE :like
                   OR p.kana_key ILIKE :like_key
                ORDER BY p.kana_key, p.id LIMIT :limit
            """),
            {
                "phone": phone,
                "code": code,
                "like": f"%{_escape_like(words)}%",
                "like_key": f"%{_escape_like(words.replace(' ', ''))}%",
                "limit": limit,
            },
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
            text("""
                UPDATE bookings SET person_id = :person_id
                WHERE id = :booking_id AND purged_at IS NULL
            """),
            {"person_id": person_id, "booking_id": booking_id},
        )
        return bool(getattr(result, "rowcount", 0))

    async def bookings(self, person_id: int) -> list[BookingLine]:
        rows = await self.db.execute(
            text(_BOOKINGS + " ORDER BY se.starts_at DESC, b.id DESC"), {"person_id": person_id}
        )
        return [BookingLine(**dict(r._mapping)) for r in rows.all()]

    async def booking_of(self, person_id: int, booking_id: int) -> tuple[str, str] | None:
        row = (
            await self.db.execute(
                text("""
                    SELECT code, phone FROM bookings
                    WHERE id = :booking_id AND person_id = :person_id AND purged_at IS NULL
                """),
                {"booking_id": booking_id, "person_id": person_id},
            )
        ).one_or_none()
        return (str(row.code), str(row.phone)) if row else None

    async def person_of_booking(self, code: str, phone: str) -> int | None:
        """The person whose booking this is, when the phone is the one it was made with or
        one of the person's."""
        found = await self.db.scalar(
            text("""
                SELECT p.id FROM bookings b JOIN persons p ON p.id = b.person_id
                WHERE b.code = :code AND b.purged_at IS NULL
                  AND (b.phone = :phone OR p.phone = :phone OR p.phone_alt = :phone)
            """),
            {"code": code, "phone": phone},
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
            text("""
                UPDATE bookings SET email = NULL, phone = '-' || id::text
                WHERE person_id = :person_id
            """),
            {"person_id": person_id},
        )
        # Nothing queued for them goes out any more: pending mails are skipped and open calls
        # closed as declined (the person asked not to be contacted).
        await self.db.execute(
            text("""
                UPDATE notifications SET status = 'skipped', last_error = 'withdrawn'
                WHERE status = 'pending'
                  AND booking_id IN (SELECT id FROM bookings WHERE person_id = :person_id)
            """),
            {"person_id": person_id},
        )
        await self.db.execute(
            text("""
                UPDATE call_tasks SET state = 'declined', closed_at = now()
                WHERE state = 'open'
                  AND booking_id IN (SELECT id FROM bookings WHERE person_id = :person_id)
            """),
            {"person_id": person_id},
        )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
