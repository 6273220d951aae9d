"""Test data built through the same code paths as the service (seats included)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.repository import BookingRepository
from service.domain.bookings.schemas import ValidBooking
from service.domain.events.models import Event, EventSession, Organization, Venue

_seq = itertools.count(1)


async def make_org(
    db: AsyncSession, name: str | None = None, kind: str = "organizer"
) -> Organization:
    org = Organization(name=name or f"団体{next(_seq)}", kind=kind)
    db.add(org)
    await db.flush()
    return org


async def make_venue(db: AsyncSession, ward: str = "shimizu") -> Venue:
    venue = Venue(name=f"会場{next(_seq)}", address="静岡市清水区旭町6-8", ward=ward)
    db.add(venue)
    await db.flush()
    return venue


async def make_event(
    db: AsyncSession,
    *,
    title: str = "シニア向け就職相談会",
    kind: str = "consultation",
    sector: str = "general",
    status: str = "published",
    organizer: Organization | None = None,
) -> Event:
    organizer = organizer or await make_org(db)
    event = Event(title=title, kind=kind, sector=sector, status=status, organizer_id=organizer.id)
    db.add(event)
    await db.flush()
    return event


async def make_session(
    db: AsyncSession,
    *,
    capacity: int = 15,
    waitlist_limit: int = 10,
    event: Event | None = None,
    venue: Venue | None = None,
    starts_in: timedelta = timedelta(days=14),
    opened_ago: timedelta = timedelta(days=1),
    closes_before_start: timedelta = timedelta(hours=12),
    commit: bool = True,
) -> EventSession:
    event = event or await make_event(db)
    venue = venue or await make_venue(db)
    now = datetime.now(UTC)
    starts = now + starts_in
    session = EventSession(
        event_id=event.id,
        venue_id=venue.id,
        starts_at=starts,
        ends_at=starts + timedelta(hours=5),
        capacity=capacity,
        waitlist_limit=waitlist_limit,
        booking_opens_at=now - opened_ago,
        booking_closes_at=starts - closes_before_start,
    )
    db.add(session)
    await db.flush()
    await BookingRepository(db).add_seats(session.id, 1, capacity)
    if commit:
        await db.commit()
    return session


def person(n: int, *, email: bool = False) -> ValidBooking:
    return ValidBooking(
        name=f"静岡 太郎{n}",
        name_kana=f"シズオカ タロウ{'ア' * (n % 5)}",
        phone=f"090{n:08d}",
        email=f"taro{n}@example.jp" if email else None,
        age_band="65_69",
        ward="shimizu",
        heard_from="dm",
    )
