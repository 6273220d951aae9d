"""Every query on the notification outbox, and the booking facts a mail needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.bookings.models import Booking
from service.domain.events.models import Event, EventSession, Venue
from service.domain.events.reminders import REMINDER_HORIZON, REMINDER_SEND_TIME
from service.domain.notifications.models import Notification
from service.domain.people.models import Person


@dataclass(frozen=True)
class MailFacts:
    """What a notice says: the booking as it is when the mail is sent."""

    booking_id: int
    code: str
    booking_status: str
    waitlist_position: int | None
    email: str | None
    name: str
    event_title: str
    event_kind: str
    contact: str
    what_to_bring: str
    starts_at: datetime
    ends_at: datetime
    session_status: str
    session_cancel_reason: str | None
    venue_name: str
    venue_address: str
    venue_ward: str
    access_notes: str
    calendar_token: str
    party_size: int = 1
    call_reminders: bool = False
    phone: str = ""
    is_online: bool = False
    join_url: str | None = None
    join_instructions: str | None = None


# Put off by a failed SMTP attempt (a failure that may pass: 4xx, no answer), not yet due again.
_WAITING_FOR_RETRY = (
    "n.status = 'pending' AND n.attempts > 0 AND n.send_after > now()"
    " AND n.last_error LIKE 'smtp:%'"
)


class NotificationRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def take_lease(
        self, notification_id: int, lease: timedelta, message_id: str
    ) -> Notification | None:
        """Mark the notice "sending" until now + lease, if it is pending and due or its last
        lease ran out (the worker holding it died). None when it is not to be sent now (sent,
        skipped, or another worker holds a live lease). The Message-ID is stored on the first
        lease and kept for every later one."""
        # SKIP LOCKED: a worker taking the same notice this instant gets it; this one moves on.
        takeable = (
            select(Notification.id)
            .where(
                Notification.id == notification_id,
                or_(
                    and_(Notification.status == "pending", Notification.send_after <= clock.now()),
                    and_(Notification.status == "sending", Notification.lease_until < func.now()),
                ),
            )
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(Notification)
            .where(Notification.id == takeable)
            .values(
                status="sending",
                lease_until=func.now() + lease,
                claims=Notification.claims + 1,
                message_id=func.coalesce(Notification.message_id, message_id),
            )
            .returning(Notification)
            .execution_options(populate_existing=True)
        )
        return (await self.db.scalars(stmt)).one_or_none()

    async def get(self, notification_id: int) -> Notification | None:
        return await self.db.get(Notification, notification_id)

    async def mail_facts(self, booking_id: int) -> MailFacts | None:
        stmt = (
            select(
                Booking.id.label("booking_id"),
                Booking.code,
                Booking.status.label("booking_status"),
                Booking.waitlist_position,
                Booking.email,
                Person.name,
                Event.title.label("event_title"),
                Event.kind.label("event_kind"),
                Event.contact,
                Event.what_to_bring,
                EventSession.starts_at,
                EventSession.ends_at,
                EventSession.status.label("session_status"),
                EventSession.cancel_reason.label("session_cancel_reason"),
                Venue.name.label("venue_name"),
                Venue.address.label("venue_address"),
                Venue.ward.label("venue_ward"),
                Venue.access_notes,
                Booking.calendar_token,
                Booking.party_size,
                Event.call_reminders,
                Booking.phone,
                EventSession.is_online,
                EventSession.join_url,
                EventSession.join_instructions,
            )
            .join(Person, Person.id == Booking.person_id)
            .join(EventSession, EventSession.id == Booking.session_id)
            .join(Event, Event.id == EventSession.event_id)
            .join(Venue, Venue.id == EventSession.venue_id)
            .where(Booking.id == booking_id)
        )
        row = (await self.db.execute(stmt)).one_or_none()
        return None if row is None else MailFacts(**row._asdict())

    async def mark_sent(self, notice: Notification) -> bool:
        """Sent, if this worker's lease is still the current one (False: the lease ran out and
        another worker took the notice over, so the receiver may get a copy)."""
        return await self._update_leased(
            notice,
            status="sent",
            attempts=notice.attempts + 1,
            sent_at=func.now(),
            last_error=None,
            lease_until=None,
        )

    async def mark_skipped(self, notice: Notification, reason: str) -> None:
        await self._update_leased(notice, status="skipped", last_error=reason, lease_until=None)

    async def mark_failed_attempt(
        self, notice: Notification, error: str, retry_in: timedelta | None
    ) -> None:
        """One more failed attempt; pending again after `retry_in`, or failed for good."""
        values: dict[str, Any] = {
            "attempts": notice.attempts + 1,
            "last_error": error[:2000],
            "lease_until": None,
            "status": "failed" if retry_in is None else "pending",
        }
        if retry_in is not None:
            values["send_after"] = clock.now() + retry_in
        await self._update_leased(notice, **values)

    async def extend_lease(self, notice: Notification, lease: timedelta) -> bool:
        """A fresh lease for the holder (after a LINE push that failed, before the mail)."""
        return await self._update_leased(notice, lease_until=func.now() + lease)

    async def _update_leased(self, notice: Notification, **values: Any) -> bool:
        result = await self.db.execute(
            update(Notification)
            .where(
                Notification.id == notice.id,
                Notification.status == "sending",
                Notification.claims == notice.claims,
            )
            .values(**values)
            .returning(Notification.id)
        )
        return result.scalar_one_or_none() is not None

    async def any_waiting_for_smtp(self) -> bool:
        """Whether some mail waits for a retry after an SMTP failure."""
        found = await self.db.scalar(
            text("SELECT EXISTS (SELECT 1 FROM notifications n WHERE " + _WAITING_FOR_RETRY + ")")
        )
        return bool(found)

    async def bring_forward_smtp_retries(self) -> list[int]:
        """Every mail waiting for a retry after an SMTP failure, due now."""
        rows = await self.db.scalars(
            text(
                "UPDATE notifications n SET send_after = now() WHERE "
                + _WAITING_FOR_RETRY
                + " RETURNING n.id"
            )
        )
        return sorted(int(r) for r in rows)

    async def due_ids(self, limit: int, settle: timedelta) -> list[tuple[int, bool]]:
        """Notices a worker should take now (pending and due, or "sending" with a lease that ran
        out), each with whether it is fresh: pending and written less than `settle` ago, so its
        job from the commit is most likely still on its way."""
        fresh = and_(
            Notification.status == "pending", Notification.created_at > func.now() - settle
        )
        stmt = (
            select(Notification.id, fresh)
            .where(
                or_(
                    and_(Notification.status == "pending", Notification.send_after <= clock.now()),
                    and_(Notification.status == "sending", Notification.lease_until < func.now()),
                )
            )
            .order_by(Notification.id)
            .limit(limit)
        )
        return [(int(i), bool(f)) for i, f in (await self.db.execute(stmt)).all()]

    async def add_survey_invitations(
        self, ended_from: datetime, ended_before: datetime, kinds: tuple[str, ...]
    ) -> list[int]:
        """A survey invitation for every attended booking with an address (or a linked LINE)
        of a session of these kinds that ended in the window; at most one per booking, ever."""
        result = await self.db.execute(
            text(
                """
                INSERT INTO notifications (booking_id, kind, dedup_key, payload)
                SELECT b.id, 'survey', 'survey:' || b.id, jsonb_build_object('session_id', s.id)
                FROM bookings b
                JOIN sessions s ON s.id = b.session_id
                JOIN events e ON e.id = s.event_id
                WHERE b.status = 'confirmed' AND b.checked_in_at IS NOT NULL
                  AND (b.email IS NOT NULL OR EXISTS (
                       -- reached by the desk's LINE instead (service/domain/line)
                       SELECT 1 FROM line_links l
                       WHERE l.person_id = b.person_id AND l.following AND l.prefers_line))
                  AND s.status = 'scheduled'
                  AND e.kind = ANY(:kinds)
                  AND s.ends_at >= :ended_from AND s.ends_at < :ended_before
                ORDER BY b.id
                ON CONFLICT (dedup_key) DO NOTHING
                RETURNING id
                """
            ),
            {"ended_from": ended_from, "ended_before": ended_before, "kinds": list(kinds)},
        )
        return sorted(int(row[0]) for row in result)

    async def add_reminders(self, now: datetime) -> list[int]:
        """Every due reminder: for each of the event's reminder days, due at 9:00 Tokyo that
        many days before the session's day. The dedup key (booking, days) makes a second run,
        or a second worker, add nothing."""
        result = await self.db.execute(
            text(
                """
                WITH due AS (
                    SELECT b.id AS booking_id, s.id AS session_id, d.days, b.confirmed_at,
                           (((s.starts_at AT TIME ZONE 'Asia/Tokyo')::date - d.days)
                            + CAST(:send_time AS time)) AT TIME ZONE 'Asia/Tokyo' AS due_at
                    FROM bookings b
                    JOIN sessions s ON s.id = b.session_id
                    JOIN events e ON e.id = s.event_id
                    CROSS JOIN LATERAL unnest(e.reminder_days) AS d(days)
                    WHERE b.status = 'confirmed'
                      AND s.status = 'scheduled'
                      AND e.status = 'published'
                      AND s.starts_at > :now
                      AND s.starts_at < :now + CAST(:horizon AS interval)
                ),
                latest AS (
                    SELECT DISTINCT ON (booking_id) booking_id, session_id, days, due_at,
                           confirmed_at
                    FROM due WHERE due_at <= :now
                    ORDER BY booking_id, days
                )
                INSERT INTO notifications (booking_id, kind, dedup_key, payload)
                SELECT booking_id, 'reminder', 'reminder:' || booking_id || ':' || days,
                       jsonb_build_object('session_id', session_id, 'days_before', days)
                FROM latest
                WHERE confirmed_at < due_at
                ORDER BY booking_id
                ON CONFLICT (dedup_key) DO NOTHING
                RETURNING id
                """
            ),
            {"now": now, "send_time": REMINDER_SEND_TIME, "horizon": REMINDER_HORIZON},
        )
        return sorted(int(row[0]) for row in result)

    async def outbox_backlog(self) -> tuple[int, float]:
        """(pending notices, age in seconds of the oldest one; 0 when none): the operators'
        signal that mail is not going out."""
        row = (
            await self.db.execute(
                text(
                    "SELECT count(*) AS n, "
                    "coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age "
                    "FROM notifications WHERE status = 'pending'"
                )
            )
        ).one()
        return int(row.n), float(row.age)


@dataclass(frozen=True, slots=True)
class MailRecord:
    """One notice of a booking as staff see it: what, when, and what went wrong."""

    id: int
    booking_id: int
    kind: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    send_after: datetime
    code: str = ""
    name: str = ""
    email: str | None = None
    event_title: str = ""
    session_id: int = 0


_RECORDS = """
    SELECT n.id, n.booking_id, n.kind, n.status, n.attempts, n.last_error, n.created_at,
           n.sent_at, n.send_after, b.code, coalesce(p.name, '（削除済み）') AS name, b.email,
           e.title AS event_title,
           b.session_id
    FROM notifications n
    JOIN bookings b ON b.id = n.booking_id
    LEFT JOIN persons p ON p.id = b.person_id
    JOIN sessions se ON se.id = b.session_id
    JOIN events e ON e.id = se.event_id
"""


class MailHistoryRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def of_booking(self, booking_id: int) -> list[MailRecord]:
        rows = await self.db.execute(
            text(_RECORDS + " WHERE n.booking_id = :b ORDER BY n.created_at, n.id"),
            {"b": booking_id},
        )
        return [MailRecord(**r._mapping) for r in rows]

    async def failed(self, org_id: int | None, limit: int = 500) -> list[MailRecord]:
        return await self._listed("n.status = 'failed'", org_id, limit)

    async def waiting_for_retry(self, org_id: int | None, limit: int = 500) -> list[MailRecord]:
        """Mails an SMTP failure put off until a later attempt (still pending)."""
        return await self._listed(_WAITING_FOR_RETRY, org_id, limit)

    async def send_waiting_now(self, org_id: int | None) -> list[int]:
        """The mails waiting for a retry, due now (their count of attempts is kept)."""
        rows = await self.db.scalars(
            text(f"""
            UPDATE notifications n SET send_after = now()
            FROM bookings b JOIN sessions se ON se.id = b.session_id
            JOIN events e ON e.id = se.event_id
            WHERE b.id = n.booking_id AND {_WAITING_FOR_RETRY}
              AND (CAST(:org AS bigint) IS NULL OR EXISTS (
                   SELECT 1 FROM event_cohosts c
                   WHERE c.event_id = e.id AND c.organization_id = :org))
            RETURNING n.id
        """),
            {"org": org_id},
        )
        return sorted(int(r) for r in rows)

    async def _listed(self, condition: str, org_id: int | None, limit: int) -> list[MailRecord]:
        rows = await self.db.execute(
            text(
                _RECORDS
                + f"""
            WHERE {condition}
              AND (CAST(:org AS bigint) IS NULL OR EXISTS (
                   SELECT 1 FROM event_cohosts c
                   WHERE c.event_id = e.id AND c.organization_id = :org))
            ORDER BY n.created_at DESC, n.id DESC LIMIT :limit
        """
            ),
            {"org": org_id, "limit": limit},
        )
        return [MailRecord(**r._mapping) for r in rows]

    async def booking_of(self, notification_id: int) -> int | None:
        value = await self.db.scalar(
            text("SELECT booking_id FROM notifications WHERE id = :n"), {"n": notification_id}
        )
        return int(value) if value is not None else None

    async def retry(self, notification_ids: list[int]) -> list[int]:
        """Failed notices pending again, due now, with a fresh count of attempts."""
        rows = await self.db.scalars(
            text("""
            UPDATE notifications SET status = 'pending', attempts = 0, send_after = now()
            WHERE id = ANY(:ids) AND status = 'failed' RETURNING id
        """),
            {"ids": notification_ids},
        )
        return sorted(int(r) for r in rows)
