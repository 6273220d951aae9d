"""Every query behind rosters, check-in and the desk's own bookings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Select,
    String,
    case,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.bookings.models import Booking, BookingCompanion
from service.domain.bookings.schemas import CompanionView
from service.domain.events.models import Event, EventSession, SessionSeat, Venue
from service.domain.people.models import Person
from service.domain.rosters.schemas import RosterEntry, SessionHeader
from service.platform.db import contains_pattern

_LIVE = ("confirmed", "waitlisted")
# The call list's model lives in service/domain/notifications, an area above this one
# (.importlinter): only the columns read here are named.
_call_tasks = table(
    "call_tasks",
    column("booking_id", BigInteger),
    column("state", String),
)
_STATUS_ORDER = case({"confirmed": 0, "waitlisted": 1}, value=Booking.status, else_=2)


def _header_query(session_id: int, now: datetime) -> Select[*tuple[Any, ...]]:
    se = EventSession
    free_seats = (
        select(func.count())
        .select_from(SessionSeat)
        .where(SessionSeat.session_id == se.id, SessionSeat.booking_id.is_(None))
        .scalar_subquery()
    )
    return (
        select(
            se.id,
            Event.id.label("event_id"),
            Event.title.label("event_title"),
            Event.kind.label("event_kind"),
            Event.status.label("event_status"),
            se.starts_at,
            se.ends_at,
            Venue.name.label("venue_name"),
            Venue.ward,
            se.capacity,
            se.status,
            se.waitlist_count,
            se.waitlist_limit,
            se.booking_opens_at,
            se.booking_closes_at,
            Event.max_companions,
            free_seats.label("free_seats"),
            literal(now, DateTime(timezone=True)).label("now"),
        )
        .join(Event, Event.id == se.event_id)
        .join(Venue, Venue.id == se.venue_id)
        .where(se.id == session_id)
    )


def _entries_query() -> Select[*tuple[Any, ...]]:
    b = Booking
    open_calls = (
        select(func.count())
        .select_from(_call_tasks)
        .where(_call_tasks.c.booking_id == b.id, _call_tasks.c.state == "open")
        .scalar_subquery()
    )
    return (
        select(
            b.id,
            b.code,
            b.status,
            b.waitlist_position,
            b.channel,
            func.coalesce(Person.name, "（削除済み）").label("name"),
            func.coalesce(Person.name_kana, "").label("name_kana"),
            b.phone,
            b.email,
            Person.age_band,
            Person.ward,
            b.heard_from,
            b.created_at,
            b.confirmed_at,
            b.waitlisted_at,
            b.cancelled_at,
            b.cancel_reason,
            b.checked_in_at,
            b.no_show_at,
            b.capacity_override,
            b.party_size,
            b.needs,
            open_calls.label("open_calls"),
        )
        .select_from(b)
        .outerjoin(Person, Person.id == b.person_id)
        .order_by(_STATUS_ORDER, b.waitlist_position, Person.name_kana, b.cancelled_at, b.id)
    )


def _spaceless(value: Any, *, nfkc: bool) -> Any:
    if nfkc:
        # normalize(x, NFKC): the form is a keyword of PostgreSQL's syntax, not a value.
        value = func.normalize(value, literal_column("NFKC"))
    return func.replace(value, " ", "")


@dataclass(frozen=True, slots=True)
class Search:
    """A roster search: the typed text, its katakana reading and its digits; the booking code
    it spells (with or without hyphens), or the code's last four digits."""

    text: str
    kana: str
    digits: str | None
    code: str | None = None
    code_tail: str | None = None


@dataclass(frozen=True, slots=True)
class BookingState:
    id: int
    session_id: int
    status: str
    checked_in_at: datetime | None
    no_show_at: datetime | None


def search_matches(search: Search, *, nfkc: bool) -> ColumnElement[bool]:
    """A booking the search finds: by the person's or a companion's name (spaces left out; the
    rosters compare names in NFKC), their reading, the phone's digits, the booking code or its
    last four digits. Joined to persons as Person."""
    text = contains_pattern(search.text)
    kana = contains_pattern(search.kana)

    def named(name: Any, name_kana: Any) -> ColumnElement[bool]:
        return or_(
            _spaceless(name, nfkc=nfkc).ilike(text, escape="\\"),
            _spaceless(name_kana, nfkc=False).like(kana, escape="\\"),
        )

    companion = exists().where(
        BookingCompanion.booking_id == Booking.id,
        named(BookingCompanion.name, BookingCompanion.name_kana),
    )
    phone = Booking.phone.like(f"%{search.digits}%") if search.digits else false()
    code = Booking.code == search.code if search.code is not None else false()
    tail = search.code_tail
    code_tail = func.right(Booking.code, 4) == tail if tail is not None else false()
    return or_(named(Person.name, Person.name_kana), phone, code, code_tail, companion)


def _entry(row: Any, companions: dict[int, list[CompanionView]]) -> RosterEntry:
    return RosterEntry(**row._mapping, companions=tuple(companions.get(row.id, ())))


class RosterRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def header(self, session_id: int) -> SessionHeader | None:
        # "Is it the session's day?" asks the domain's one clock, as the booking rules do.
        row = (await self.db.execute(_header_query(session_id, clock.now()))).first()
        return SessionHeader(**row._mapping) if row else None

    async def entries(self, session_id: int, search: Search | None = None) -> list[RosterEntry]:
        query = _entries_query().where(Booking.session_id == session_id)
        if search is not None:
            query = query.where(search_matches(search, nfkc=True))
        rows = list(await self.db.execute(query))
        companions = await self.companions([r.id for r in rows])
        return [_entry(r, companions) for r in rows]

    async def companions(self, booking_ids: list[int]) -> dict[int, list[CompanionView]]:
        out: dict[int, list[CompanionView]] = {}
        if not booking_ids:
            return out
        c = BookingCompanion
        rows = await self.db.execute(
            select(c.booking_id, c.position, c.name, c.name_kana, c.cancelled_at)
            .where(c.booking_id.in_(booking_ids))
            .order_by(c.booking_id, c.position)
        )
        for r in rows:
            out.setdefault(r.booking_id, []).append(
                CompanionView(r.position, r.name, r.name_kana, r.cancelled_at)
            )
        return out

    async def entry(self, booking_id: int) -> RosterEntry | None:
        row = (await self.db.execute(_entries_query().where(Booking.id == booking_id))).first()
        return _entry(row, await self.companions([row.id])) if row else None

    async def needs_by_session(self, event_id: int) -> dict[int, int]:
        """session id -> live bookings that told us what they need at the door (配慮事項)."""
        rows = await self.db.execute(
            select(Booking.session_id, func.count().label("n"))
            .join(EventSession, EventSession.id == Booking.session_id)
            .where(
                EventSession.event_id == event_id,
                Booking.status.in_(_LIVE),
                Booking.needs.is_not(None),
            )
            .group_by(Booking.session_id)
        )
        return {int(r.session_id): int(r.n) for r in rows}

    async def lock_booking(self, booking_id: int) -> BookingState | None:
        row = (
            await self.db.execute(
                select(
                    Booking.id,
                    Booking.session_id,
                    Booking.status,
                    Booking.checked_in_at,
                    Booking.no_show_at,
                )
                .where(Booking.id == booking_id)
                .with_for_update()
            )
        ).first()
        return BookingState(**row._mapping) if row else None

    async def set_attendance(
        self, booking_id: int, *, checked_in: bool | None = None, no_show: bool | None = None
    ) -> None:
        """Sets or clears the check-in and no-show marks (None leaves a mark as it is)."""
        values: dict[str, Any] = {}
        if checked_in is not None:
            values["checked_in_at"] = func.now() if checked_in else None
        if no_show is not None:
            values["no_show_at"] = func.now() if no_show else None
        if values:
            await self.db.execute(
                update(Booking)
                .where(Booking.id == booking_id)
                .values(values)
                .execution_options(synchronize_session=False)
            )

    async def unattended_confirmed(self, session_id: int) -> list[int]:
        rows = await self.db.scalars(
            select(Booking.id)
            .where(
                Booking.session_id == session_id,
                Booking.status == "confirmed",
                Booking.checked_in_at.is_(None),
                Booking.no_show_at.is_(None),
            )
            .order_by(Booking.id)
            .with_for_update()
        )
        return [int(r) for r in rows]

    async def mark_no_shows(self, booking_ids: list[int]) -> None:
        if booking_ids:
            await self.db.execute(
                update(Booking)
                .where(Booking.id.in_(booking_ids))
                .values(no_show_at=func.now())
                .execution_options(synchronize_session=False)
            )

    async def live_booking_with_phone(self, session_id: int, phone: str) -> int | None:
        value = await self.db.scalar(
            select(Booking.id).where(
                Booking.session_id == session_id,
                Booking.phone == phone,
                Booking.status.in_(_LIVE),
            )
        )
        return int(value) if value is not None else None

    async def move_targets(self, session_id: int) -> list[int]:
        """The other upcoming, scheduled sessions of the same event, soonest first."""
        se = EventSession
        event_id = select(se.event_id).where(se.id == session_id).scalar_subquery()
        rows = await self.db.scalars(
            select(se.id)
            .where(
                se.event_id == event_id,
                se.id != session_id,
                se.status == "scheduled",
                se.starts_at > func.now(),
            )
            .order_by(se.starts_at, se.id)
        )
        return [int(r) for r in rows]
