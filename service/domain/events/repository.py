"""Every query on events, sessions, venues and organizations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from service.domain.bookings.models import Booking
from service.domain.events.models import (
    Event,
    EventSession,
    SessionSeat,
    Venue,
    event_cohosts,
    event_employers,
)


class EventRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def count(self) -> int:
        return int(await self.db.scalar(select(func.count()).select_from(Event)) or 0)

    async def set_organizations(
        self, event_id: int, *, cohost_ids: list[int], employer_ids: list[int]
    ) -> None:
        for table, ids in ((event_cohosts, cohost_ids), (event_employers, employer_ids)):
            await self.db.execute(delete(table).where(table.c.event_id == event_id))
            if ids:
                await self.db.execute(
                    insert(table), [{"event_id": event_id, "organization_id": i} for i in ids]
                )

    async def search_published(
        self,
        *,
        now: datetime,
        sector: str | None,
        kind: str | None,
        ward: str | None,
        date_from: datetime | None,
        date_to: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[list[int], int]:
        """Ids of published events with a matching session still to end, soonest first."""
        conds = [EventSession.ends_at > now, EventSession.status == "scheduled"]
        if ward:
            conds.append(Venue.ward == ward)
        if date_from:
            conds.append(EventSession.starts_at >= date_from)
        if date_to:
            conds.append(EventSession.starts_at < date_to)
        first = (
            select(EventSession.event_id, func.min(EventSession.starts_at).label("first_start"))
            .join(Venue, Venue.id == EventSession.venue_id)
            .where(*conds)
            .group_by(EventSession.event_id)
            .subquery()
        )
        stmt = select(Event.id, first.c.first_start).join(first, first.c.event_id == Event.id)
        stmt = stmt.where(Event.status == "published")
        if sector:
            stmt = stmt.where(Event.sector == sector)
        if kind:
            stmt = stmt.where(Event.kind == kind)
        total = await self.db.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.db.execute(
            stmt.order_by(first.c.first_start, Event.id).offset(offset).limit(limit)
        )
        return [int(r[0]) for r in rows], int(total or 0)

    async def events_with_sessions(self, ids: list[int]) -> list[Event]:
        if not ids:
            return []
        stmt = (
            select(Event)
            .where(Event.id.in_(ids))
            .options(
                selectinload(Event.sessions).selectinload(EventSession.venue),
                selectinload(Event.cohosts),
                selectinload(Event.employers),
                selectinload(Event.organizer),
            )
        )
        by_id = {e.id: e for e in (await self.db.scalars(stmt)).all()}
        return [by_id[i] for i in ids if i in by_id]

    async def session_counts(self, session_ids: list[int]) -> dict[int, tuple[int, int]]:
        """session id -> (confirmed people, counting every person of a party, free seats)."""
        if not session_ids:
            return {}
        confirmed = (
            select(func.coalesce(func.sum(Booking.party_size), 0))
            .where(Booking.session_id == EventSession.id, Booking.status == "confirmed")
            .scalar_subquery()
        )
        free = (
            select(func.count())
            .select_from(SessionSeat)
            .where(SessionSeat.session_id == EventSession.id, SessionSeat.booking_id.is_(None))
            .scalar_subquery()
        )
        rows = await self.db.execute(
            select(EventSession.id, confirmed.label("confirmed"), free.label("free")).where(
                EventSession.id.in_(session_ids)
            )
        )
        return {int(r.id): (int(r.confirmed), int(r.free)) for r in rows}
