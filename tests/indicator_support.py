"""A year of the desk's work built row by row, for the indicator tests and the benchmark."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.bookings.models import Booking, BookingCompanion
from service.domain.events.models import (
    Event,
    EventSession,
    Organization,
    Venue,
    event_cohosts,
    event_employers,
)
from service.domain.indicators import service as indicators
from service.domain.indicators.repository import IndicatorRepository
from service.domain.people.models import Person
from service.platform.local_time import TOKYO
from tests.manage_support import make_staff

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
    with_companion: int = 0,
) -> None:
    """Bookings in each state; only checked-in ones and walk-ins are attendance. The first
    `with_companion` checked-in bookings bring one companion each (and one who cancelled)."""
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
    companions_left = with_companion
    for state, channel in states:
        n = next(_seq)
        person = Person(name=f"静岡 花子{n}", name_kana=f"シズオカ ハナコ{n}", phone=f"090{n:08d}")
        db.add(person)
        await db.flush()
        status = {"cancelled": "cancelled", "waitlisted": "waitlisted"}.get(state, "confirmed")
        party = 1
        if state == "checked_in" and companions_left > 0:
            companions_left -= 1
            party = 2
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
                party_size=party,
            )
        )
        if party > 1:
            await db.flush()
            booking_id = await db.scalar(select(Booking.id).where(Booking.person_id == person.id))
            live = BookingCompanion(
                booking_id=booking_id, name=f"同伴 {n}", name_kana="ドウハン", position=1
            )
            gone = BookingCompanion(
                booking_id=booking_id,
                name=f"取消 {n}",
                name_kana="トリケシ",
                position=2,
                cancelled_at=at - timedelta(days=1),
            )
            db.add_all([live, gone])
    await db.flush()


@dataclass
class Year:
    admin: Actor
    hello_work: int
    silver: int
    session_ids: dict[str, int]


async def build_year(db: AsyncSession) -> Year:
    admin_user = await make_staff(db, "admin")
    admin = Actor.of(admin_user)
    organizer = await org(db, "NEXTワークしずおか", "organizer")
    hw = await org(db, "ハローワーク静岡", "cohost")
    silver = await org(db, "シルバー人材センター", "cohost")
    a, b, c, d = [await org(db, f"介護法人{x}", "employer") for x in "ABCD"]
    place = await venue(db)
    ids: dict[str, int] = {}

    e1 = await event(db, organizer, kind="consultation", cohosts=(hw,))
    s = await held_session(db, e1, place, jst(2022, 9, 21))
    await bookings(
        db, s, checked_in=10, walk_ins=4, no_shows=3, cancelled=2, waitlisted=2, with_companion=2
    )
    ids["sep"] = s.id
    s = await held_session(db, e1, place, jst(2023, 3, 31, 23, 30))
    await bookings(db, s, checked_in=2)
    s = await held_session(db, e1, place, jst(2023, 4, 1, 0, 30))
    await bookings(db, s, checked_in=3)
    ids["r5"] = s.id
    s = await held_session(db, e1, place, jst(2022, 7, 31, 23, 30))
    await bookings(db, s, checked_in=5)
    s = await held_session(db, e1, place, jst(2022, 8, 1, 0, 10))
    await bookings(db, s, checked_in=1, confirmed=2)
    ids["aug"] = s.id

    e2 = await event(
        db, organizer, kind="job_fair", sector="care", cohosts=(silver,), employers=(a, b)
    )
    s = await held_session(db, e2, place, jst(2022, 10, 5))
    await bookings(db, s, checked_in=6, no_shows=2)
    e3 = await event(db, organizer, kind="job_fair", sector="care", employers=(a,))
    s = await held_session(db, e3, place, jst(2022, 12, 1))
    await bookings(db, s, checked_in=4, walk_ins=1)
    e4 = await event(db, organizer, kind="job_fair", sector="care", employers=(a, c))
    s = await held_session(db, e4, place, jst(2023, 1, 15))
    await bookings(db, s, checked_in=3)
    # An employer whose only session was cancelled did not take part.
    e5 = await event(db, organizer, kind="job_fair", sector="care", employers=(d,))
    s = await held_session(db, e5, place, jst(2022, 11, 1))
    s.status = "cancelled"

    e6 = await event(db, organizer, kind="training", sector="care")
    await bookings(db, await held_session(db, e6, place, jst(2022, 11, 10)), checked_in=7)
    e7 = await event(db, organizer, kind="job_fair", sector="security")
    s = await held_session(db, e7, place, jst(2022, 11, 20))
    await bookings(db, s, checked_in=5, cancelled=1)
    e8 = await event(db, organizer, kind="seminar", sector="cleaning")
    s = await held_session(db, e8, place, jst(2023, 2, 10))
    await bookings(db, s, checked_in=3, walk_ins=2)
    e9 = await event(db, organizer, kind="seminar", sector="community", sub_kind="middle_senior")
    s = await held_session(db, e9, place, jst(2023, 2, 20))
    await bookings(db, s, checked_in=8, heard_from="line")
    e10 = await event(db, organizer, kind="seminar", sector="community", sub_kind="side_job")
    await bookings(db, await held_session(db, e10, place, jst(2023, 2, 21)), checked_in=4)
    e11 = await event(db, organizer, kind="seminar", sector="community")
    s = await held_session(db, e11, place, jst(2023, 2, 22))
    await bookings(db, s, checked_in=9, heard_from=None)
    e12 = await event(db, organizer, kind="exchange", employers=(a, b))
    await bookings(db, await held_session(db, e12, place, jst(2022, 8, 26)), checked_in=6)

    records = [
        *[{"kind": "consultation", "occurred_on": "2022-08-10", "channel": "desk"}] * 5,
        *[{"kind": "consultation", "occurred_on": "2022-09-01", "channel": "phone"}] * 3,
        *[{"kind": "consultation", "occurred_on": "2022-09-21", "channel": "outreach"}] * 2,
        {"kind": "consultation", "occurred_on": "2022-07-15", "channel": "desk"},
        {"kind": "consultation", "occurred_on": "2023-04-01", "channel": "desk"},
        {"kind": "supported_company", "occurred_on": "2022-08-05", "sector": "care",
         "company": "株式会社ABC"},
        {"kind": "supported_company", "occurred_on": "2022-10-01", "sector": "care",
         "company": "株式会社ＡＢＣ "},
        {"kind": "supported_company", "occurred_on": "2022-09-09", "sector": "cleaning",
         "company": "清掃サービス株式会社"},
        {"kind": "supported_company", "occurred_on": "2022-11-11", "sector": "security",
         "company": "しずおか警備保障"},
        {"kind": "supported_company", "occurred_on": "2023-01-01", "company": "一般商事"},
        *[{"kind": "placement", "occurred_on": "2022-12-01", "company": "介護法人A",
           "senior": True, "sector": "care"}] * 3,
        {"kind": "placement", "occurred_on": "2022-12-02", "company": "介護法人B",
         "senior": False},
        {"kind": "job_opening", "occurred_on": "2022-09-30", "company": "X社", "quantity": 5},
        {"kind": "job_opening", "occurred_on": "2023-03-31", "company": "Y社", "quantity": "２"},
        *[{"kind": "silver_registration", "occurred_on": "2022-10-03"}] * 2,
    ]  # fmt: skip
    for data in records:
        await indicators.add_record(db, admin, data)
    for day, score in [("2022-09-21", 5), ("2022-09-21", 4), ("2022-09-22", 3), ("2022-07-01", 5)]:
        await indicators.add_paper_answer(db, admin, {"answered_on": day, "score": str(score)})
    repo = IndicatorRepository(db)
    line = await repo.definition_by_code("outcome_line_registrations")
    rate = await repo.definition_by_code("exchange_matching_rate")
    assert line is not None and rate is not None
    for month, value in [("2022-07", "50"), ("2022-08", "10"), ("2022-09", "5")]:
        await indicators.set_hand_figure(
            db, admin, {"definition_id": str(line.id), "month": month, "value": value}
        )
    await indicators.set_hand_figure(
        db, admin, {"definition_id": rate.id, "month": "2022-08", "value": "35.7"}
    )
    await db.commit()
    return Year(admin, hw.id, silver.id, ids)
