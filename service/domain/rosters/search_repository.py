"""The query behind finding a booking across every event (/manage/search)."""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.models import Booking
from service.domain.events.models import Event, EventSession, Venue, event_cohosts
from service.domain.people.models import Person
from service.domain.rosters.repository import Search, search_matches
from service.domain.rosters.schemas import FoundBooking


class SearchRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def find(
        self, search: Search, *, organization_id: int | None, limit: int
    ) -> list[FoundBooking]:
        b, se = Booking, EventSession
        query = (
            select(
                b.id,
                b.code,
                b.status,
                b.waitlist_position,
                func.coalesce(Person.name, "（削除済み）").label("name"),
                func.coalesce(Person.name_kana, "").label("name_kana"),
                b.phone,
                b.party_size,
                b.checked_in_at,
                se.id.label("session_id"),
                se.starts_at,
                se.status.label("session_status"),
                Event.id.label("event_id"),
                Event.title.label("event_title"),
                Venue.name.label("venue_name"),
            )
            .select_from(b)
            .outerjoin(Person, Person.id == b.person_id)
            .join(se, se.id == b.session_id)
            .join(Event, Event.id == se.event_id)
            .join(Venue, Venue.id == se.venue_id)
            # Names compared in NFKC on both sides, as the rosters do: a name stored as typed
            # (神 U+FA19) is found by the everyday 神 a clerk types.
            .where(search_matches(search, nfkc=True))
            # Newest session first.
            .order_by(se.starts_at.desc(), b.id.desc())
            .limit(limit)
        )
        if organization_id is not None:
            # A co-host sees only the events it co-hosts, as on the rosters.
            query = query.where(
                exists().where(
                    event_cohosts.c.event_id == Event.id,
                    event_cohosts.c.organization_id == organization_id,
                )
            )
        rows = await self.db.execute(query)
        return [FoundBooking(**r._mapping) for r in rows]
