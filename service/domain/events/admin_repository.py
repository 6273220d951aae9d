"""Every query behind the organizer console's event management (the public read side lives in
repository.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.events.models import Event, EventSession, Organization, Venue, event_cohosts
from service.domain.events.schemas import EventRow
from service.platform.db import contains_pattern

_LIST = """
    SELECT e.id, e.title, e.kind, e.sector, e.status,
           min(se.starts_at) AS first_start, max(se.ends_at) AS last_end,
           min(se.starts_at) FILTER (WHERE se.ends_at > now() AND se.status = 'scheduled')
               AS next_start,
           CAST(count(se.id) AS int) AS sessions,
           CAST(count(se.id) FILTER (WHERE se.status = 'scheduled') AS int) AS scheduled_sessions,
           -- The counts are of the sessions still to come (scheduled, not ended): what the
           -- desk can still fill. Past sessions are left out (the page says so).
           CAST(count(se.id) FILTER (WHERE se.status = 'scheduled' AND se.ends_at > now())
                AS int) AS upcoming_sessions,
           CAST(coalesce(sum(se.capacity) FILTER (WHERE se.status = 'scheduled'
                                                  AND se.ends_at > now()), 0) AS int)
               AS capacity,
           CAST(coalesce(sum((SELECT sum(b.party_size) FROM bookings b
                              WHERE b.session_id = se.id AND b.status = 'confirmed'))
                         FILTER (WHERE se.status = 'scheduled' AND se.ends_at > now()), 0)
                AS int) AS confirmed,
           CAST(coalesce(sum(se.waitlist_count) FILTER (WHERE se.status = 'scheduled'
                                                        AND se.ends_at > now()), 0) AS int)
               AS waitlisted
    FROM events e LEFT JOIN sessions se ON se.event_id = e.id
    WHERE (CAST(:org AS bigint) IS NULL OR EXISTS (
              SELECT 1 FROM event_cohosts c WHERE c.event_id = e.id AND c.organization_id = :org))
      AND (CAST(:status AS text) IS NULL OR e.status = :status)
      AND (CAST(:q AS text) IS NULL OR e.title ILIKE :q ESCAPE '\\')
    GROUP BY e.id
    HAVING NOT :upcoming OR max(se.ends_at) IS NULL OR max(se.ends_at) > now()
    -- By the session that matters at the desk: the next one, else (all over) the first.
    ORDER BY coalesce(min(se.starts_at) FILTER (WHERE se.ends_at > now()
                                                 AND se.status = 'scheduled'),
                      min(se.starts_at)) NULLS FIRST, e.id
    LIMIT :limit
"""

_CANCEL_BOOKINGS = text("""
WITH cancelled AS (
    UPDATE bookings SET status = 'cancelled', waitlist_position = NULL, cancelled_at = now(),
           cancel_reason = :reason, cancelled_by_id = :staff_id
    WHERE session_id = :sid AND status IN ('confirmed', 'waitlisted')
    RETURNING id
),
freed AS (
    UPDATE session_seats SET booking_id = NULL
    WHERE session_id = :sid AND booking_id IN (SELECT id FROM cancelled)
    RETURNING id
),
notices AS (
    INSERT INTO notifications (booking_id, kind, dedup_key)
    SELECT id, 'session_cancelled', 'session_cancelled:' || id FROM cancelled
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING id
)
SELECT (SELECT array_agg(id ORDER BY id) FROM cancelled) AS bookings,
       (SELECT array_agg(id ORDER BY id) FROM notices) AS notices,
       (SELECT count(*) FROM freed) AS freed
""")


_CHANGE_NOTICES = text("""
    INSERT INTO notifications (booking_id, kind, dedup_key, payload)
    SELECT b.id, 'session_changed', 'session_changed:' || b.id || ':' || :key,
           jsonb_build_object('session_id', b.session_id, 'change', CAST(:change AS jsonb))
    FROM bookings b
    WHERE b.session_id = :sid AND b.status IN ('confirmed', 'waitlisted')
    ORDER BY b.id
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING id
""")


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
            text(_LIST),
            {
                "org": cohost_org_id,
                "status": status,
                "q": contains_pattern(title) if title else None,
                "upcoming": upcoming_only,
                "limit": limit,
            },
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
        await self.db.execute(
            text("""
            SELECT id FROM session_seats WHERE session_id = :sid AND booking_id IS NULL
            ORDER BY seat_no DESC FOR UPDATE
        """),
            {"sid": session_id},
        )
        await self.db.execute(
            text("DELETE FROM session_seats WHERE session_id = :sid AND booking_id IS NULL"),
            {"sid": session_id},
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
        result = await self.db.execute(
            _CHANGE_NOTICES,
            {"sid": session_id, "key": change_key, "change": json.dumps(change)},
        )
        return sorted(int(row[0]) for row in result)

    async def notice_reach(self, session_id: int) -> tuple[int, int]:
        """(by mail, by phone): the live bookings of a session with an e-mail address and
        without one, i.e. how a notice to everyone booked will reach them (an address that
        later bounces is phoned too: the mail count is what is tried)."""
        row = (
            await self.db.execute(
                text("""
                SELECT CAST(count(*) FILTER (WHERE coalesce(btrim(email), '') <> '') AS int),
                       CAST(count(*) FILTER (WHERE coalesce(btrim(email), '') = '') AS int)
                FROM bookings
                WHERE session_id = :sid AND status IN ('confirmed', 'waitlisted')
                """),
                {"sid": session_id},
            )
        ).one()
        return int(row[0]), int(row[1])

    async def event_notice_reach(self, event_id: int) -> tuple[int, int]:
        """notice_reach over the event's scheduled sessions that have not started."""
        row = (
            await self.db.execute(
                text("""
                SELECT CAST(count(*) FILTER (WHERE coalesce(btrim(b.email), '') <> '') AS int),
                       CAST(count(*) FILTER (WHERE coalesce(btrim(b.email), '') = '') AS int)
                FROM bookings b JOIN sessions se ON se.id = b.session_id
                WHERE se.event_id = :eid AND se.status = 'scheduled' AND se.starts_at > now()
                  AND b.status IN ('confirmed', 'waitlisted')
                """),
                {"eid": event_id},
            )
        ).one()
        return int(row[0]), int(row[1])

    async def cancel_live_bookings(
        self, session_id: int, *, reason: str, staff_id: int
    ) -> tuple[list[int], list[int]]:
        """Cancels every live booking of the session, frees their seats and writes one
        'session_cancelled' notice each. Returns (booking ids, new notification ids)."""
        row = (
            await self.db.execute(
                _CANCEL_BOOKINGS, {"sid": session_id, "reason": reason, "staff_id": staff_id}
            )
        ).one()
        return list(row.bookings or []), list(row.notices or [])
