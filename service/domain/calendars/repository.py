"""Every query behind the calendar files: one booking, the feeds, their versions, feed links."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    ScalarSelect,
    Select,
    Text,
    and_,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.models import StaffUser
from service.domain.bookings.models import Booking
from service.domain.calendars.models import CalendarChanges, Installation, StaffFeedLink
from service.domain.calendars.schemas import FeedWindow
from service.domain.events.models import Event, EventSession, Organization, Venue, event_cohosts


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
    latitude: float | None
    longitude: float | None
    revision: int
    created_at: datetime
    last_modified: datetime
    alarm_day_before: bool
    alarm_minutes_before: int | None


@dataclass(frozen=True)
class BookingEntry:
    booking_id: int
    code: str
    status: str
    waitlist_position: int | None
    calendar_token: str
    session: SessionEntry
    # How to join an online session: only on the booking's own file (never a feed's entry).
    is_online: bool = False
    join_url: str | None = None
    join_instructions: str | None = None
    # The booking's own part of its SEQUENCE (bookings.calendar_sequence_offset).
    sequence_offset: int = 0


@dataclass(frozen=True)
class StaffEntry:
    session: SessionEntry
    capacity: int
    confirmed: int
    waitlisted: int


@dataclass(frozen=True)
class FeedScope:
    """Which sessions a feed holds: public (published events only) or a staff member's view,
    narrowed by the link's filters."""

    public: bool
    cohost_organization_id: int | None = None
    sector: str | None = None
    kind: str | None = None
    organization_id: int | None = None


@dataclass(frozen=True)
class FeedState:
    """What a feed's content depends on, summed up by PostgreSQL without fetching the rows."""

    count: int
    digest: str
    last_modified: datetime | None


@dataclass(frozen=True)
class FeedLinkOwner:
    link_id: int
    user_id: int
    role: str
    organization_id: int | None
    sector: str | None
    kind: str | None
    filter_organization_id: int | None


@dataclass(frozen=True)
class FeedLinkRow:
    id: int
    user_id: int
    username: str
    display_name: str
    name: str
    sector: str | None
    kind: str | None
    organization_name: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_fetched_at: datetime | None
    last_fetched_from: str | None


_LAST_MODIFIED = func.greatest(EventSession.updated_at, Event.updated_at).label("last_modified")

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
    Venue.latitude,
    Venue.longitude,
    EventSession.revision,
    EventSession.created_at,
    _LAST_MODIFIED,
    Event.alarm_day_before,
    Event.alarm_minutes_before,
)
_KEYS = tuple(c.key for c in _SESSION_COLUMNS)


def _entry(mapping: RowMapping) -> SessionEntry:
    return SessionEntry(**{key: mapping[key] for key in _KEYS})


def _count(status: str) -> ScalarSelect[int]:
    """People, not bookings: a booking holds its party (the holder and companions)."""
    return (
        select(func.coalesce(func.sum(Booking.party_size), 0))
        .where(Booking.session_id == EventSession.id, Booking.status == status)
        .scalar_subquery()
    )


def _booking_changed() -> ScalarSelect[datetime]:
    return (
        select(
            func.max(
                func.greatest(
                    Booking.created_at,
                    Booking.confirmed_at,
                    Booking.waitlisted_at,
                    Booking.cancelled_at,
                )
            )
        )
        .where(Booking.session_id == EventSession.id)
        .scalar_subquery()
    )


def _cancelled() -> ColumnElement[bool]:
    return or_(EventSession.status == "cancelled", Event.status == "cancelled")


def _in_window(window: FeedWindow) -> ColumnElement[bool]:
    return and_(
        EventSession.starts_at < window.starts_before,
        EventSession.starts_at >= window.starts_from,
        or_(~_cancelled(), EventSession.starts_at >= window.cancelled_from),
    )


def _in_scope(scope: FeedScope) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if scope.public:
        # Published, or cancelled after being published: never a draft.
        conditions.append(Event.status != "draft")
        conditions.append(Event.published_at.is_not(None))
    if scope.cohost_organization_id is not None:
        conditions.append(Event.status != "draft")
        conditions.append(_cohosted_by(scope.cohost_organization_id))
    if scope.sector is not None:
        conditions.append(Event.sector == scope.sector)
    if scope.kind is not None:
        conditions.append(Event.kind == scope.kind)
    if scope.organization_id is not None:
        conditions.append(
            or_(Event.organizer_id == scope.organization_id, _cohosted_by(scope.organization_id))
        )
    return conditions


def _cohosted_by(organization_id: int) -> ColumnElement[bool]:
    return exists().where(
        and_(
            event_cohosts.c.event_id == Event.id,
            event_cohosts.c.organization_id == organization_id,
        )
    )


_S = TypeVar("_S", bound=Select[*tuple[Any, ...]])


def _joined(stmt: _S) -> _S:
    return stmt.join(Event, Event.id == EventSession.event_id).join(
        Venue, Venue.id == EventSession.venue_id
    )


class CalendarRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def installation_id(self) -> uuid.UUID:
        return (await self.db.execute(select(Installation.id))).scalar_one()

    async def public_generation(self) -> tuple[int, datetime]:
        stmt = select(CalendarChanges.generation, CalendarChanges.changed_at)
        row = (await self.db.execute(stmt)).one()
        return row.generation, row.changed_at

    async def booking(self, code: str) -> BookingEntry | None:
        stmt = _joined(
            select(
                Booking.id.label("booking_id"),
                Booking.code,
                Booking.status,
                Booking.waitlist_position,
                Booking.calendar_token,
                Booking.calendar_sequence_offset,
                EventSession.is_online,
                EventSession.join_url,
                EventSession.join_instructions,
                *_SESSION_COLUMNS,
            )
            .select_from(Booking)
            .join(EventSession, EventSession.id == Booking.session_id)
        ).where(Booking.code == code)
        row = (await self.db.execute(stmt)).one_or_none()
        if row is None:
            return None
        m = row._mapping
        return BookingEntry(
            m["booking_id"],
            m["code"],
            m["status"],
            m["waitlist_position"],
            m["calendar_token"],
            _entry(m),
            bool(m["is_online"]),
            m["join_url"],
            m["join_instructions"],
            int(m["calendar_sequence_offset"]),
        )

    async def calendar_token(self, code: str) -> str | None:
        stmt = select(Booking.calendar_token).where(Booking.code == code)
        return (await self.db.execute(stmt)).scalar_one_or_none()

    async def feed_state(self, window: FeedWindow, scope: FeedScope, *, staff: bool) -> FeedState:
        """A digest of everything the feed shows (ids, revisions, edit times and, for staff,
        the counts), computed in PostgreSQL: a poll that changes nothing costs one query."""
        parts: list[ColumnElement[object]] = [
            cast(EventSession.id, Text),
            cast(EventSession.revision, Text),
            cast(func.extract("epoch", _LAST_MODIFIED), Text),
        ]
        if staff:
            parts += [
                cast(EventSession.capacity, Text),
                cast(_count("confirmed"), Text),
                cast(_count("waitlisted"), Text),
            ]
        row_text = func.concat_ws(":", *parts)
        changed: ColumnElement[datetime] = func.max(_LAST_MODIFIED)
        if staff:
            # Counts move with bookings, which leave no trace on the session row.
            changed = func.greatest(changed, func.max(_booking_changed()))
        digest = func.md5(
            func.string_agg(row_text, aggregate_order_by(literal_column("','"), EventSession.id))
        )
        stmt = _joined(
            select(
                func.count().label("count"),
                func.coalesce(digest, "").label("digest"),
                changed.label("last_modified"),
            ).select_from(EventSession)
        ).where(_in_window(window), *_in_scope(scope))
        row = (await self.db.execute(stmt)).one()._mapping
        return FeedState(row["count"], row["digest"], row["last_modified"])

    async def public_sessions(self, window: FeedWindow, scope: FeedScope) -> list[SessionEntry]:
        stmt = (
            _joined(select(*_SESSION_COLUMNS).select_from(EventSession))
            .where(_in_window(window), *_in_scope(scope))
            .order_by(EventSession.starts_at, EventSession.id)
        )
        return [_entry(row._mapping) for row in await self.db.execute(stmt)]

    async def staff_sessions(self, window: FeedWindow, scope: FeedScope) -> list[StaffEntry]:
        """Counts only, never names."""
        confirmed = _count("confirmed").label("confirmed")
        waitlisted = _count("waitlisted").label("waitlisted")
        stmt = (
            _joined(
                select(*_SESSION_COLUMNS, EventSession.capacity, confirmed, waitlisted).select_from(
                    EventSession
                )
            )
            .where(_in_window(window), *_in_scope(scope))
            .order_by(EventSession.starts_at, EventSession.id)
        )
        return [
            StaffEntry(_entry(row._mapping), row.capacity, row.confirmed, row.waitlisted)
            for row in await self.db.execute(stmt)
        ]

    # -- staff feed links --------------------------------------------------------------------

    async def add_link(self, link: StaffFeedLink) -> StaffFeedLink:
        self.db.add(link)
        await self.db.flush()
        return link

    async def link_owner(self, token_hash: str) -> FeedLinkOwner | None:
        """The live link with this hash, of an active user; None for anything else."""
        stmt = (
            select(
                StaffFeedLink.id,
                StaffFeedLink.sector,
                StaffFeedLink.kind,
                StaffFeedLink.organization_id.label("filter_organization_id"),
                StaffUser.id.label("user_id"),
                StaffUser.role,
                StaffUser.organization_id,
            )
            .join(StaffUser, StaffUser.id == StaffFeedLink.user_id)
            .where(
                StaffFeedLink.token_hash == token_hash,
                StaffFeedLink.revoked_at.is_(None),
                StaffUser.is_active.is_(True),
            )
        )
        row = (await self.db.execute(stmt)).one_or_none()
        if row is None:
            return None
        return FeedLinkOwner(
            row.id,
            row.user_id,
            row.role,
            row.organization_id,
            row.sector,
            row.kind,
            row.filter_organization_id,
        )

    async def record_fetch(self, link_id: int, address: str, now: datetime) -> None:
        # At most one write a minute per link and address: pollers are many and frequent.
        await self.db.execute(
            update(StaffFeedLink)
            .where(
                StaffFeedLink.id == link_id,
                or_(
                    StaffFeedLink.last_fetched_at.is_(None),
                    StaffFeedLink.last_fetched_at < now - timedelta(minutes=1),
                    StaffFeedLink.last_fetched_from.is_distinct_from(address),
                ),
            )
            .values(last_fetched_at=now, last_fetched_from=address)
        )

    async def links(self, user_id: int | None, *, include_revoked: bool) -> list[FeedLinkRow]:
        stmt = (
            select(
                StaffFeedLink.id,
                StaffFeedLink.user_id,
                StaffUser.username,
                StaffUser.display_name,
                StaffFeedLink.name,
                StaffFeedLink.sector,
                StaffFeedLink.kind,
                Organization.name.label("organization_name"),
                StaffFeedLink.created_at,
                StaffFeedLink.revoked_at,
                StaffFeedLink.last_fetched_at,
                StaffFeedLink.last_fetched_from,
            )
            .join(StaffUser, StaffUser.id == StaffFeedLink.user_id)
            .outerjoin(Organization, Organization.id == StaffFeedLink.organization_id)
            .order_by(StaffFeedLink.revoked_at.is_not(None), StaffFeedLink.id.desc())
        )
        if user_id is not None:
            stmt = stmt.where(StaffFeedLink.user_id == user_id)
        if not include_revoked:
            stmt = stmt.where(StaffFeedLink.revoked_at.is_(None))
        return [FeedLinkRow(**row._asdict()) for row in await self.db.execute(stmt)]

    async def revoke_link(
        self, link_id: int, *, owner_id: int | None, revoked_by: int, now: datetime
    ) -> bool:
        """Revokes a live link (only the owner's when owner_id is given); False if none."""
        stmt = (
            update(StaffFeedLink)
            .where(StaffFeedLink.id == link_id, StaffFeedLink.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by_id=revoked_by)
            .returning(StaffFeedLink.id)
        )
        if owner_id is not None:
            stmt = stmt.where(StaffFeedLink.user_id == owner_id)
        return (await self.db.execute(stmt)).scalar_one_or_none() is not None

    async def organization_exists(self, organization_id: int) -> bool:
        stmt = select(Organization.id).where(Organization.id == organization_id)
        return (await self.db.execute(stmt)).scalar_one_or_none() is not None

    async def organizations(self) -> list[tuple[int, str]]:
        stmt = (
            select(Organization.id, Organization.name)
            .where(Organization.kind != "employer")
            .order_by(Organization.name)
        )
        return [(row.id, row.name) for row in await self.db.execute(stmt)]

    async def now(self) -> datetime:
        return (await self.db.execute(select(func.now()))).scalar_one()
