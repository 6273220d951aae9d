"""Every query behind the calendar files: one booking, the public sessions, the staff view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import RowMapping, ScalarSelect, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.models import StaffUser
from service.domain.bookings.models import Booking
from service.domain.events.models import Event, EventSession, Venue, event_cohosts


@dataclass(frozen=True)
class SessionEntry:
    session_id: int
    event_id: int
    title: str
    description: str
    what_to_bring: str
    event_status: str
    session_status: str
    starts_at: datetime
    ends_at: datetime
    venue_name: str
    venue_address: str
    venue_ward: str
    access_notes: str


@dataclass(frozen=True)
class BookingEntry:
    code: str
    status: str
    waitlist_position: int | None
    session: SessionEntry


@dataclass(frozen=True)
class StaffEntry:
    session: SessionEntry
    capacity: int
    confirmed: int
    waitlisted: int


@dataclass(frozen=True)
class FeedOwner:
    user_id: int
    role: str
    organization_id: int | None


_SESSION_COLUMNS = (
    EventSession.id.label("session_id"),
    Event.id.label("event_id"),
    Event.title,
    Event.description,
    Event.what_to_bring,
    Event.status.label("event_status"),
    EventSession.status.label("session_status"),
    EventSession.starts_at,
    EventSession.ends_at,
    Venue.name.label("venue_name"),
    Venue.address.label("venue_address"),
    Venue.ward.label("venue_ward"),
    Venue.access_notes,
)


def _entry(mapping: RowMapping) -> SessionEntry:
    return SessionEntry(**{c.key: mapping[c.key] for c in _SESSION_COLUMNS})


def _count(status: str) -> ScalarSelect[int]:
    return (
        select(func.count())
        .where(Booking.session_id == EventSession.id, Booking.status == status)
        .scalar_subquery()
    )


class CalendarRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def booking(self, code: str) -> BookingEntry | None:
        stmt = (
            select(Booking.code, Booking.status, Booking.waitlist_position, *_SESSION_COLUMNS)
            .join(EventSession, EventSession.id == Booking.session_id)
            .join(Event, Event.id == EventSession.event_id)
            .join(Venue, Venue.id == EventSession.venue_id)
            .where(Booking.code == code)
        )
        row = (await self.db.execute(stmt)).one_or_none()
        if row is None:
            return None
        return BookingEntry(row.code, row.status, row.waitlist_position, _entry(row._mapping))

    async def public_sessions(self, ends_after: datetime, limit: int) -> list[SessionEntry]:
        """Sessions of published events that have not ended; cancelled ones stay in the feed so
        subscribed calendars learn about the cancellation."""
        stmt = (
            select(*_SESSION_COLUMNS)
            .join(Event, Event.id == EventSession.event_id)
            .join(Venue, Venue.id == EventSession.venue_id)
            .where(Event.status == "published", EventSession.ends_at > ends_after)
            .order_by(EventSession.starts_at, EventSession.id)
            .limit(limit)
        )
        return [_entry(row._mapping) for row in await self.db.execute(stmt)]

    async def staff_sessions(
        self, ends_after: datetime, limit: int, *, cohost_organization_id: int | None
    ) -> list[StaffEntry]:
        """Every session (organizers, admins), or those of published or cancelled events the
        organization co-hosts. Counts only, never names."""
        confirmed = _count("confirmed").label("confirmed")
        waitlisted = _count("waitlisted").label("waitlisted")
        stmt = (
            select(*_SESSION_COLUMNS, EventSession.capacity, confirmed, waitlisted)
            .join(Event, Event.id == EventSession.event_id)
            .join(Venue, Venue.id == EventSession.venue_id)
            .where(EventSession.ends_at > ends_after)
            .order_by(EventSession.starts_at, EventSession.id)
            .limit(limit)
        )
        if cohost_organization_id is not None:
            stmt = stmt.where(
                Event.status != "draft",
                exists().where(
                    and_(
                        event_cohosts.c.event_id == Event.id,
                        event_cohosts.c.organization_id == cohost_organization_id,
                    )
                ),
            )
        return [
            StaffEntry(_entry(row._mapping), row.capacity, row.confirmed, row.waitlisted)
            for row in await self.db.execute(stmt)
        ]

    async def feed_owner(self, user_id: int) -> FeedOwner | None:
        stmt = select(StaffUser.id, StaffUser.role, StaffUser.organization_id).where(
            StaffUser.id == user_id, StaffUser.is_active.is_(True)
        )
        row = (await self.db.execute(stmt)).one_or_none()
        return None if row is None else FeedOwner(row.id, row.role, row.organization_id)
