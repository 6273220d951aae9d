"""Every query on events, sessions, venues and organizations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from service.domain.events.models import Event, EventSession, event_cohosts, event_employers


class EventRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def upcoming_published(self, now: datetime, limit: int = 100) -> list[Event]:
        next_start = (
            select(func.min(EventSession.starts_at))
            .where(EventSession.event_id == Event.id, EventSession.ends_at > now)
            .scalar_subquery()
        )
        stmt = (
            select(Event)
            .where(Event.status == "published", next_start.is_not(None))
            .options(
                selectinload(Event.sessions).selectinload(EventSession.venue),
                selectinload(Event.cohosts),
                selectinload(Event.employers),
                selectinload(Event.organizer),
            )
            .order_by(next_start, Event.id)
            .limit(limit)
        )
        return list((await self.db.scalars(stmt)).all())

    async def count(self) -> int:
        return int(await self.db.scalar(select(func.count()).select_from(Event)) or 0)

    async def add_seats(self, session_id: int, first_seat: int, last_seat: int) -> None:
        """Seat rows first_seat..last_seat for a session (none when last < first)."""
        if last_seat < first_seat:
            return
        await self.db.execute(
            text(
                "INSERT INTO session_seats (session_id, seat_no) "
                "SELECT :sid, n FROM generate_series(CAST(:a AS int), CAST(:b AS int)) AS n"
            ),
            {"sid": session_id, "a": first_seat, "b": last_seat},
        )

    async def set_organizations(
        self, event_id: int, *, cohost_ids: list[int], employer_ids: list[int]
    ) -> None:
        for table, ids in ((event_cohosts, cohost_ids), (event_employers, employer_ids)):
            await self.db.execute(delete(table).where(table.c.event_id == event_id))
            if ids:
                await self.db.execute(
                    insert(table), [{"event_id": event_id, "organization_id": i} for i in ids]
                )
