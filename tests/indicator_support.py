"""A year of the desk's work built row by row, for the indicator tests and the benchmark."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.models import Booking, Person
from service.domain.events.models import (
    Event,
    EventSession,
    Organization,
    Venue,
    event_cohosts,
    event_employers,
)
from service.local_time import TOKYO

_seq = itertools.count(1)
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def jst(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


def _code(n: int) -> str:
    out = []
    for _ in range(10):
        n, r = divmod(n, len(_ALPHABET))
        out.append(_ALPHABET[r])
    return "".join(out)


async def org(db: AsyncSession, name: str, kind: str) -> Organization:
    row = Organization(name=name, kind=kind)
    db.add(row)
    await db.flush()
    return row


async def event(
    db: AsyncSession,
    organizer: Organization,
    *,
    kind: str,
    sector: str = "general",
    sub_kind: str | None = None,
    cohosts: tuple[Organization, ...] = (),
    employers: tuple[Organization, ...] = (),
) -> Event:
    row = Event(
        title=f"{kind} {sector} {next(_seq)}",
        kind=kind,
        sector=sector,
        sub_kind=sub_kind,
        status="published",
        organizer_id=organizer.id,
    )
    db.add(row)
    await db.flush()
    for c in cohosts:
        await db.execute(insert(event_cohosts).values(event_id=row.id, organization_id=c.id))
    for e in employers:
        await db.execute(insert(event_employers).values(event_id=row.id, organization_id=e.id))
    return row


async def venue(db: AsyncSession) -> Venue:
    row = Venue(name=f"会場{next(_seq)}", address="静岡市清水区旭町6-8", ward="shimizu")
    db.add(row)
    await db.flush()
    return row


async def held_session(
    db: AsyncSession, ev: Event, place: Venue, starts: datetime, *, capacity: int = 500
) -> EventSession:
    row = EventSession(
        event_id=ev.id,
        venue_id=place.id,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        capacity=capacity,
        waitlist_limit=50,
        booking_opens_at=starts - timedelta(days=30),
        booking_closes_at=starts - timedelta(hours=1),
    )
    db.add(row)
    await db.flush()
    return row


async def bookings(
    db: AsyncSession,
    session: EventSession,
    *,
    checked_in: int = 0,
    walk_ins: int = 0,
    no_shows: int = 0,
    cancelled: int = 0,
    waitlisted: int = 0,
    confirmed: int = 0,
    heard_from: str | None = "dm",
) -> None:
    """Bookings in each state; only checked-in ones and walk-ins are attendance."""
    at = session.starts_at.astimezone(UTC)
    states = (
        [("checked_in", "web")] * checked_in
        + [("checked_in", "walk_in")] * walk_ins
        + [("no_show", "phone")] * no_shows
        + [("cancelled", "web")] * cancelled
        + [("waitlisted", "web")] * waitlisted
        + [("confirmed", "web")] * confirmed
    )
    position = 0
    for state, channel in states:
        n = next(_seq)
        person = Person(name=f"静岡 花子{n}", name_kana=f"シズオカ ハナコ{n}", phone=f"090{n:08d}")
        db.add(person)
        await db.flush()
        status = {"cancelled": "cancelled", "waitlisted": "waitlisted"}.get(state, "confirmed")
        if status == "waitlisted":
            position += 1
        db.add(
            Booking(
                code=_code(n * 7919),
                session_id=session.id,
                person_id=person.id,
                status=status,
                waitlist_position=position if status == "waitlisted" else None,
                channel=channel,
                phone=person.phone,
                heard_from=heard_from,
                confirmed_at=at - timedelta(days=3) if status != "waitlisted" else None,
                waitlisted_at=at - timedelta(days=3) if status == "waitlisted" else None,
                cancelled_at=at - timedelta(days=1) if status == "cancelled" else None,
                checked_in_at=at if state == "checked_in" else None,
                no_show_at=at + timedelta(hours=3) if state == "no_show" else None,
            )
        )
    await db.flush()
