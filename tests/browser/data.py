"""Events for page tests, written straight into the test's own database (setup only: the pages
under test read them through the domain services)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.bookings.repository import BookingRepository
from service.domain.bookings.schemas import BookingView, validate_booking_input
from service.domain.events.models import Event, EventSession, Organization, Venue
from service.domain.events.repository import EventRepository
from service.platform.local_time import TOKYO


@dataclass(frozen=True)
class Seeded:
    event_id: int
    session_ids: list[int]


async def _org(db: AsyncSession, name: str, kind: str) -> Organization:
    org = await db.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(name=name, kind=kind)
        db.add(org)
        await db.flush()
    return org


async def _venue(db: AsyncSession, name: str, ward: str) -> Venue:
    venue = await db.scalar(select(Venue).where(Venue.name == name))
    if venue is None:
        venue = Venue(
            name=name,
            address="静岡市葵区追手町5-1",
            ward=ward,
            access_notes="JR静岡駅から徒歩15分。",
            barrier_free_notes="エレベーター・多目的トイレあり。",
        )
        db.add(venue)
        await db.flush()
    return venue


async def add_event(
    db: AsyncSession,
    *,
    title: str = "お仕事説明会（介護のお仕事）",
    kind: str = "job_fair",
    sector: str = "care",
    ward: str = "aoi",
    venue: str = "静岡市役所 本館",
    days_ahead: tuple[int, ...] = (10,),
    capacity: int = 15,
    waitlist_limit: int = 5,
    cohosts: tuple[str, ...] = ("ハローワーク静岡",),
    employers: tuple[str, ...] = ("社会福祉法人あおい福祉会",),
    status: str = "published",
    opens_in_days: int = -1,
    today: date | None = None,
) -> Seeded:
    """A published event with one session per entry of days_ahead (10:00-12:00, Tokyo)."""
    today = today or datetime.now(TOKYO).date()
    organizer = await _org(db, "NEXTワークしずおか", "organizer")
    place = await _venue(db, venue, ward)
    event = Event(
        title=title,
        description="事業所の方から、お仕事の内容を直接聞けます。\n経験がなくても大丈夫です。",
        kind=kind,
        sector=sector,
        status=status,
        organizer_id=organizer.id,
        contact="NEXTワークしずおか ☎054-254-2770",
        what_to_bring="筆記用具",
    )
    db.add(event)
    await db.flush()
    repo = EventRepository(db)
    await repo.set_organizations(
        event.id,
        cohost_ids=[(await _org(db, n, "cohost")).id for n in cohosts],
        employer_ids=[(await _org(db, n, "employer")).id for n in employers],
    )
    session_ids = []
    for offset in days_ahead:
        day = today + timedelta(days=offset)
        session = EventSession(
            event_id=event.id,
            venue_id=place.id,
            starts_at=datetime.combine(day, time(10), tzinfo=TOKYO),
            ends_at=datetime.combine(day, time(12), tzinfo=TOKYO),
            capacity=capacity,
            waitlist_limit=waitlist_limit,
            booking_opens_at=datetime.combine(
                today + timedelta(days=opens_in_days), time(9), tzinfo=TOKYO
            ),
            booking_closes_at=datetime.combine(day - timedelta(days=1), time(17), tzinfo=TOKYO),
        )
        db.add(session)
        await db.flush()
        await BookingRepository(db).add_seats(session.id, 1, capacity)
        session_ids.append(session.id)
    await db.commit()
    return Seeded(event.id, session_ids)


async def book_someone(db: AsyncSession, session_id: int, n: int) -> BookingView:
    """Person n books the session through the booking core (fills seats for a test)."""
    data = validate_booking_input(
        {"name": f"予約 {n}郎", "name_kana": "よやく いちろう", "phone": f"090{n:08d}"}
    )
    view = await bookings.book(db, session_id, data)
    await db.commit()
    return view
