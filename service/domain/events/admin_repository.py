"""Every query behind the organizer console's event management (the public read side lives in
repository.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    and_,
    cast,
    delete,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.models import Booking
from service.domain.events.models import (
    Event,
    EventSession,
    Organization,
    SessionSeat,
    Venue,
    event_cohosts,
)
from service.domain.events.schemas import EventRow
from service.domain.outbox_repository import notifications, once
from service.platform.db import contains_pattern

_LIVE = ("confirmed", "waitlisted")


def _int(value: Any) -> Any:
    return cast(value, Integer)


def _list_query(
    *, org: int | None, status: str | None, q: str | None, upcoming: bool, limit: int
) -> Select[*tuple[Any, ...]]:
    se = EventSession
    # The counts are of the sessions still to come (scheduled, not ended): what the desk can
    # still fill. Past sessions are left out (the page says so).
    to_come = and_(se.status == "scheduled", se.ends_at > func.now())
    confirmed_seats = (
        select(func.sum(Booking.party_size))
        .where(Booking.session_id == se.id, Booking.status == "confirmed")
        .scalar_subquery()
    )
    next_start = func.min(se.starts_at).filter(
        and_(se.ends_at > func.now(), se.status == "scheduled")
    )
    query = (
        select(
            Event.id,
            Event.title,
            Event.kind,
            Event.sector,
            Event.status,
            func.min(se.starts_at).label("first_start"),
            func.max(se.ends_at).label("last_end"),
            next_start.label("next_start"),
            _int(func.count(se.id)).label("sessions"),
            _int(func.count(se.id).filter(se.status == "scheduled")).label("scheduled_sessions"),
            _int(func.count(se.id).filter(to_come)).label("upcoming_sessions"),
            _int(func.coalesce(func.sum(se.capacity).filter(to_come), 0)).label("capacity"),
            _int(func.coalesce(func.sum(confirmed_seats).filter(to_come), 0)).label("confirmed"),
            _int(func.coalesce(func.sum(se.waitlist_count).filter(to_come), 0)).label("waitlisted"),
        )
        .select_from(Event)
        .outerjoin(se, se.event_id == Event.id)
        .group_by(Event.id)
        # By the session that matters at the desk: the next one, else (all over) the first.
        .order_by(func.coalesce(next_start, func.min(se.starts_at)).nulls_first(), Event.id)
        .limit(limit)
    )
    if org is not None:
        query = query.where(
            exists().where(
                event_cohosts.c.event_id == Event.id, event_cohosts.c.organization_id == org
            )
        )
    if status is not None:
        query = query.where(Event.status == status)
    if q is not None:
        query = query.where(Event.title.ilike(q, escape="\\"))
    if upcoming:
        query = query.having(or_(func.max(se.ends_at).is_(None), func.max(se.ends_at) > func.now()))
    return query


def _ids_in_order(column: Any) -> Any:
    return select(func.array_agg(aggregate_order_by(column, column))).scalar_subquery()


def _notice_reach(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """(with an e-mail address, without one) over the live bookings the query selects from."""
    has_email = func.coalesce(func.btrim(Booking.email), "") != ""
    return query.with_only_columns(
        _int(func.count().filter(has_email)), _int(func.count().filter(not_(has_email)))
    )


class EventAdminRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def save(self) -> None:
        """Writes the changes made to loaded rows (events, sessions) now, in this transaction."""
        await self.db.flush()

    async def reload(self, row: object) -> None:
        """Reads a row again after a statement of another repository changed it."""
        await self.db.refresh(row)

    async def list_events(
        self,
        *,
        cohost_org_id: int | None,
        status: str | None,
        title: str | None,
        upcoming_only: bool,
        limit: int,
    ) -> list[EventRow]:
        rows = await self.db.execute(
            _list_query(
                org=cohost_org_id,
                status=status,
                q=contains_pattern(title) if title else None,
                upcoming=upcoming_only,
                limit=limit,
            )
        )
        return [EventRow(**r._mapping) for r in rows]

    async def event_for_update(self, event_id: int) -> Event | None:
        stmt = select(Event).where(Event.id == event_id).with_for_update()
        return (await self.db.scalars(stmt)).one_or_none()

    async def session(self, session_id: int) -> EventSession | None:
        return await self.db.get(EventSession, session_id)

    async def session_for_update(self, session_id: int) -> EventSession | None:
        """The session row under the same lock as every other change to its seats and waiting
        list (FOR NO KEY UPDATE, see bookings.repository): a plain FOR UPDATE also blocks the
        foreign-key check of a booking holding a seat, which then deadlocks against a resize or
        cancel waiting for that seat."""
        stmt = (
            select(EventSession)
            .where(EventSession.id == session_id)
            .with_for_update(key_share=True)
        )
        return (await self.db.scalars(stmt)).one_or_none()

    async def withdraw_free_seats(self, session_id: int) -> None:
        """Takes the free seats of a session being cancelled away, waiting for bookings claiming
        one right now. Called under the session lock, before bookings are cancelled: a booking
        that read the session as open commits its seat first (and is cancelled with the rest);
        any other finds no seat it can take (the seats are locked, then gone) and meets the
        session lock, or is refused as full. Locking alone would not do: a statement whose
        snapshot predates the cancel could still claim a seat once the lock is released.
        From the highest seat down: bookers take the lowest free seat first, so the two meet
        near the bottom and few bookings slip in."""
        free = (SessionSeat.session_id == session_id, SessionSeat.booking_id.is_(None))
        await self.db.execute(
            select(SessionSeat.id)
            .where(*free)
            .order_by(SessionSeat.seat_no.desc())
            .with_for_update()
        )
        await self.db.execute(
            delete(SessionSeat).where(*free).execution_options(synchronize_session=False)
        )

    async def session_ids_of_event(
        self, event_id: int, *, status: str | None = None, not_started: bool = False
    ) -> list[int]:
        stmt = select(EventSession.id).where(EventSession.event_id == event_id)
        if status:
            stmt = stmt.where(EventSession.status == status)
        if not_started:
            stmt = stmt.where(EventSession.starts_at > func.now())
        return [int(i) for i in (await self.db.scalars(stmt.order_by(EventSession.starts_at)))]

    async def organizations(self) -> list[Organization]:
        stmt = select(Organization).order_by(Organization.kind, Organization.name)
        return list((await self.db.scalars(stmt)).all())

    async def organizations_by_ids(self, ids: tuple[int, ...]) -> list[Organization]:
        if not ids:
            return []
        stmt = select(Organization).where(Organization.id.in_(ids))
        return list((await self.db.scalars(stmt)).all())

    async def first_organizer(self) -> Organization | None:
        stmt = (
            select(Organization)
            .where(Organization.kind == "organizer")
            .order_by(Organization.id)
            .limit(1)
        )
        return (await self.db.scalars(stmt)).one_or_none()

    async def add_organization(self, org: Organization) -> Organization:
        self.db.add(org)
        await self.db.flush()
        return org

    async def organization_named(self, name: str) -> Organization | None:
        stmt = select(Organization).where(Organization.name == name)
        return (await self.db.scalars(stmt)).one_or_none()

    async def venues(self) -> list[Venue]:
        stmt = select(Venue).order_by(Venue.ward, Venue.name)
        return list((await self.db.scalars(stmt)).all())

    async def venue(self, venue_id: int) -> Venue | None:
        return await self.db.get(Venue, venue_id)

    async def venue_named(self, name: str) -> Venue | None:
        return (await self.db.scalars(select(Venue).where(Venue.name == name))).one_or_none()

    async def add_venue(self, venue: Venue) -> Venue:
        self.db.add(venue)
        await self.db.flush()
        return venue

    async def add_event(self, event: Event) -> Event:
        self.db.add(event)
        await self.db.flush()
        return event

    async def add_session(self, session: EventSession) -> EventSession:
        self.db.add(session)
        await self.db.flush()
        return session

    async def cohost_ids(self, event_id: int) -> list[int]:
        stmt = select(event_cohosts.c.organization_id).where(event_cohosts.c.event_id == event_id)
        return sorted(int(i) for i in (await self.db.scalars(stmt)))

    async def add_change_notices(
        self, session_id: int, change_key: str, change: Mapping[str, Any]
    ) -> list[int]:
        """「変更のお知らせ」 for every live booking of the session, one per booking and change
        (the dedup key), carrying what changed (`change`: the before and after snapshots); the
        mails read the session at send time. Returns the new ids."""
        notices = (
            select(
                Booking.id,
                literal("session_changed"),
                func.concat("session_changed:", Booking.id, ":", change_key),
                func.jsonb_build_object(
                    "session_id", Booking.session_id, "change", literal(dict(change), JSONB)
                ),
            )
            .where(Booking.session_id == session_id, Booking.status.in_(_LIVE))
            .order_by(Booking.id)
        )
        result = await self.db.execute(
            once(
                insert(notifications).from_select(
                    ["booking_id", "kind", "dedup_key", "payload"], notices
                )
            )
        )
        return sorted(int(row[0]) for row in result)

    async def notice_reach(self, session_id: int) -> tuple[int, int]:
        """(by mail, by phone): the live bookings of a session with an e-mail address and
        without one, i.e. how a notice to everyone booked will reach them (an address that
        later bounces is phoned too: the mail count is what is tried)."""
        query = select(Booking.id).where(
            Booking.session_id == session_id, Booking.status.in_(_LIVE)
        )
        row = (await self.db.execute(_notice_reach(query))).one()
        return int(row[0]), int(row[1])

    async def event_notice_reach(self, event_id: int) -> tuple[int, int]:
        """notice_reach over the event's scheduled sessions that have not started."""
        query = (
            select(Booking.id)
            .join(EventSession, EventSession.id == Booking.session_id)
            .where(
                EventSession.event_id == event_id,
                EventSession.status == "scheduled",
                EventSession.starts_at > func.now(),
                Booking.status.in_(_LIVE),
            )
        )
        row = (await self.db.execute(_notice_reach(query))).one()
        return int(row[0]), int(row[1])

    async def cancel_live_bookings(
        self, session_id: int, *, reason: str, staff_id: int
    ) -> tuple[list[int], list[int]]:
        """Cancels every live booking of the session, frees their seats and writes one
        'session_cancelled' notice each. Returns (booking ids, new notification ids)."""
        cancelled = (
            update(Booking)
            .where(Booking.session_id == session_id, Booking.status.in_(_LIVE))
            .values(
                status="cancelled",
                waitlist_position=None,
                cancelled_at=func.now(),
                cancel_reason=reason,
                cancelled_by_id=staff_id,
            )
            .returning(Booking.id)
            .cte("cancelled")
        )
        freed = (
            update(SessionSeat)
            .where(
                SessionSeat.session_id == session_id,
                SessionSeat.booking_id.in_(select(cancelled.c.id)),
            )
            .values(booking_id=None)
            .returning(SessionSeat.id)
            .cte("freed")
        )
        notices = once(
            insert(notifications).from_select(
                ["booking_id", "kind", "dedup_key"],
                select(
                    cancelled.c.id,
                    literal("session_cancelled"),
                    func.concat("session_cancelled:", cancelled.c.id),
                ),
            )
        ).cte("notices")
        row = (
            await self.db.execute(
                select(
                    _ids_in_order(cancelled.c.id).label("bookings"),
                    _ids_in_order(notices.c.id).label("notices"),
                    select(func.count()).select_from(freed).scalar_subquery().label("freed"),
                )
            )
        ).one()
        return list(row.bookings or []), list(row.notices or [])
